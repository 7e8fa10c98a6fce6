"""Conversations, read: the lists and searches of the inbox, one conversation with its
messages and notes decrypted, and the people who took part in it.

The same selectors as the pages (inbox.selectors): the same lists, search operators, keyset
pages and decryption, scoped to the token's workspace by `accounts.access`."""

from django.core.exceptions import BadRequest
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.access import get_in_workspace, in_workspace
from accounts.keys import keys_for
from accounts.models import User
from api import schemas
from api.contacts import contacts_as_json
from api.cursor import cursor_decode, cursor_encode
from api.errors import ApiError
from contacts.selectors import conversation_contacts_views
from inbox.actions.compose import seen_marker
from inbox.models import Conversation, ConversationTag, Message
from inbox.selectors.conversation_list import (
    LISTS,
    conversations_listed,
    conversations_narrowed,
    conversations_page,
)
from inbox.selectors.conversation_page import for_page, message_view, trail
from inbox.selectors.conversation_rows import conversation_rows
from inbox.selectors.mailboxes import mailboxes_listed
from inbox.selectors.search_query import confirmed, parse_query, search_conversations
from inbox.selectors.tags import tags_by_conversation, tags_listed, workspace_tags

router = Router(tags=["conversations"])


class ListFilters(Schema):
    view: str = Field(
        default="open",
        max_length=20,
        description="One of the inbox's lists: " + ", ".join(LISTS) + ". Ignored with `q`.",
    )
    q: str = Field(
        default="",
        max_length=1000,
        description="A search, with the inbox's operators: from:, to:, subject:, tag:, "
        "is:open|pending|closed|snoozed, assignee:me|<name>, mailbox:<address>, "
        "before:/after:YYYY-MM-DD, has:attachment, and words.",
    )
    mailbox: int | None = Field(default=None, ge=1, le=2**63 - 1)
    tag: int | None = Field(default=None, ge=1, le=2**63 - 1)
    cursor: str | None = Field(default=None, max_length=64)


def _member(user: User | None) -> schemas.Member | None:
    if user is None:
        return None
    return schemas.Member(id=user.pk, name=user.display_name, email=user.email)


def _summaries(keys, page: list[Conversation], workspace, user) -> list[dict]:
    ids = [c.pk for c in page]
    tags = {t.id: t for t in tags_listed(workspace)}
    by_conversation = tags_by_conversation(ids, tags)
    read = {c.pk: c.read_at for c in page if getattr(c, "read_at", None) is not None}
    # With their address, which the members list does not hold: one query for the page.
    assignees = User.objects.in_bulk({c.assignee_id for c in page if c.assignee_id})
    names = {pk: u.display_name for pk, u in assignees.items()}
    rows = conversation_rows(keys, page, names=names, tags=by_conversation, read=read)
    return [
        {
            "id": row.id,
            "subject": row.subject,
            "contact": {"name": row.name, "address": row.address},
            "snippet": row.snippet,
            "status": row.status,
            "assignee": _member(assignees.get(c.assignee_id)),
            "mailbox_id": c.mailbox_id,
            "tags": [{"id": t.id, "name": t.name, "color": t.color} for t in row.tags],
            "message_count": row.message_count,
            "has_attachments": row.has_attachments,
            "unread": row.unread,
            "last_message_at": row.last_message_at,
            "snoozed_until": row.snoozed_until,
        }
        for row, c in zip(rows, page, strict=True)
    ]


@router.get(
    "/conversations",
    response=schemas.ConversationPage,
    url_name="api_conversations",
    summary="List or search conversations",
)
def conversation_list(request: HttpRequest, filters: Query[ListFilters]):
    """A page of 50, newest first. Follow `next_cursor` for the next; a conversation that
    arrives meanwhile never shifts the pages (the cursor is a position, not an offset)."""
    workspace, user = request.workspace, request.user
    if filters.view not in LISTS:
        raise ApiError(
            422, _("Unknown list: choose one of %(lists)s.") % {"lists": ", ".join(LISTS)}
        )
    mailbox = tag = None
    if filters.mailbox is not None:
        mailbox = next((m for m in mailboxes_listed(workspace) if m.pk == filters.mailbox), None)
        if mailbox is None:
            raise ApiError(404, _("No such mailbox in this workspace."))
    if filters.tag is not None:
        tag = next((t for t in tags_listed(workspace) if t.id == filters.tag), None)
        if tag is None:
            raise ApiError(404, _("No such tag in this workspace."))
    keys = keys_for(workspace)
    q = filters.q.strip()
    if "\x00" in q:
        raise ApiError(400, _("The search contains a NUL character."))
    query = None
    conversations = in_workspace(request, Conversation)
    if q:
        query = parse_query(q, keys=keys, workspace=workspace, user=user)
        qs = search_conversations(query, conversations)
    else:
        qs = conversations_listed(conversations, listed=filters.view, user=user, now=timezone.now())
    try:
        page, next_cursor = conversations_page(
            conversations_narrowed(qs, mailbox=mailbox, tag=tag),
            user=user,
            after=cursor_decode(filters.cursor),
        )
    except BadRequest:
        raise ApiError(400, _("This cursor is not one the API gave."), code="bad_cursor") from None
    if query is not None:
        page = confirmed(query, keys, page)
    return {
        "conversations": _summaries(keys, page, workspace, user),
        "next_cursor": cursor_encode(next_cursor),
    }


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    # for_page: with when this token's user last read it (`read_at`).
    return get_in_workspace(request, for_page(request.user), pk=conversation_id)


def summary_of(request: HttpRequest, conversation_id: int) -> dict:
    """One conversation as the list shows it (what the write operations answer with)."""
    conversation = _conversation(request, conversation_id)
    keys = keys_for(request.workspace)
    return _summaries(keys, [conversation], request.workspace, request.user)[0]


@router.get(
    "/conversations/{id:conversation_id}",
    response=schemas.ConversationDetail,
    url_name="api_conversation",
    summary="One conversation, with its messages and notes",
)
def conversation_detail(request: HttpRequest, conversation_id: int):
    conversation = _conversation(request, conversation_id)
    keys = keys_for(request.workspace)
    [summary] = _summaries(keys, [conversation], request.workspace, request.user)
    mails = (
        Message.objects.filter(conversation=conversation)
        .prefetch_related("attachments")
        .order_by("received_at", "id")
    )
    messages = []
    for mail in mails:
        view = message_view(keys, mail)
        messages.append(
            {
                "id": view.id,
                "direction": view.direction,
                "subject": view.subject,
                "sender": {
                    "name": view.sender.get("name") or "",
                    "address": view.sender_address,
                },
                "to": [_person(p) for p in view.to],
                "cc": [_person(p) for p in view.cc],
                "date": view.date,
                "text": view.text,
                "attachments": [
                    {
                        "id": a["id"],
                        "filename": a["filename"],
                        "size": a["size"],
                        "is_inline": a["is_inline"],
                    }
                    for a in view.attachments
                ],
            }
        )
    notes = [
        {"author": item.actor, "created_at": item.when, "body": item.text}
        for item in trail(keys, conversation)
        if item.kind == "note_body"
    ]
    return {
        **summary,
        "messages": messages,
        "notes": notes,
        "seen": seen_marker(conversation),
    }


def _person(value: dict) -> dict:
    return {"name": value.get("name") or "", "address": value.get("address") or ""}


@router.get(
    "/conversations/{id:conversation_id}/contacts",
    response=list[schemas.Contact],
    url_name="api_conversation_contacts",
    summary="The people who took part in a conversation",
)
def conversation_contacts(request: HttpRequest, conversation_id: int):
    """The contacts of the people in its From, To and Cc (never the workspace's own
    addresses nor its members), from the contacts app, newest contact first."""
    conversation = get_in_workspace(request, Conversation, pk=conversation_id)
    return contacts_as_json(
        conversation_contacts_views(keys_for(request.workspace), request.workspace, conversation)
    )


def conversation_tags(request: HttpRequest, conversation_id: int) -> list[dict]:
    """The tags on a conversation, by name (what changing them answers)."""
    conversation = get_in_workspace(request, Conversation, pk=conversation_id)
    ids = set(
        ConversationTag.objects.filter(conversation=conversation).values_list("tag_id", flat=True)
    )
    # Read fresh, not from the per-process list: a tag may have been made just now.
    return [
        {"id": t.id, "name": t.name, "color": t.color}
        for t in workspace_tags(request.workspace)
        if t.id in ids
    ]
