"""Conversations, changed: assign, status, tags, notes — through the same actions as the
conversation page (inbox.actions), so the trail, notifications and live updates follow.

Ids in bodies are read like the pages' forms read them: a teammate of another workspace is a
404, as is any other object of another workspace."""

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from accounts.access import get_in_workspace, in_workspace
from accounts.keys import keys_for
from accounts.models import Membership
from api import schemas
from api.conversations import conversation_tags, summary_of
from api.errors import ApiError
from inbox.actions import tags, triage
from inbox.models import Conversation, Tag
from inbox.selectors.tags import tag_token

router = Router(tags=["conversations"])


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return get_in_workspace(
        request, Conversation.objects.select_related("workspace", "mailbox"), pk=conversation_id
    )


@router.post(
    "/conversations/{id:conversation_id}/assign",
    response={200: schemas.ConversationSummary},
    url_name="api_conversation_assign",
    summary="Assign a conversation to a teammate, or to nobody",
)
def conversation_assign(request: HttpRequest, conversation_id: int, payload: schemas.AssignIn):
    conversation = _conversation(request, conversation_id)
    assignee = None
    if payload.assignee == "me":
        assignee = request.user
    elif payload.assignee is not None:
        member = (
            in_workspace(request, Membership)
            .select_related("user")
            .filter(user_id=payload.assignee)
            .first()
            if 0 < payload.assignee < 2**63
            else None
        )
        if member is None:
            raise ApiError(404, _("No such teammate in this workspace."))
        assignee = member.user
    triage.conversation_assign(conversation=conversation, assignee=assignee, actor=request.user)
    return _summary(request, conversation_id)


@router.post(
    "/conversations/{id:conversation_id}/status",
    response={200: schemas.ConversationSummary},
    url_name="api_conversation_status",
    summary="Change a conversation's status",
)
def conversation_status(request: HttpRequest, conversation_id: int, payload: schemas.StatusIn):
    conversation = _conversation(request, conversation_id)
    triage.conversation_set_status(
        conversation=conversation, status=payload.status, actor=request.user
    )
    return _summary(request, conversation_id)


@router.post(
    "/conversations/{id:conversation_id}/tags",
    response={200: list[schemas.TagOut]},
    url_name="api_conversation_tags",
    summary="Put tags on a conversation or take them off",
)
def conversation_tags_change(request: HttpRequest, conversation_id: int, payload: schemas.TagsIn):
    """Tags by name: one that does not exist yet is created (as typing it on the page does);
    removing a tag the conversation does not carry changes nothing."""
    conversation = _conversation(request, conversation_id)
    keys = keys_for(request.workspace)
    with transaction.atomic():
        for name in payload.add:
            tag = tags.tag_get_or_create(workspace=request.workspace, name=name)
            tags.conversation_tag_add(conversation=conversation, tag=tag, actor=request.user)
        for name in payload.remove:
            if not name.strip():
                continue
            tag = in_workspace(request, Tag).filter(name_token=tag_token(keys, name)).first()
            if tag is not None:
                tags.conversation_tag_remove(conversation=conversation, tag=tag, actor=request.user)
    return conversation_tags(request, conversation_id)


@router.post(
    "/conversations/{id:conversation_id}/notes",
    response={201: schemas.NoteCreated},
    url_name="api_conversation_notes",
    summary="Add an internal note",
)
def conversation_note(request: HttpRequest, conversation_id: int, payload: schemas.NoteIn):
    """Seen by the team only; @mentions notify as on the page."""
    conversation = _conversation(request, conversation_id)
    note = triage.note_add(conversation=conversation, author=request.user, body=payload.body)
    return Status(201, {"id": note.pk, "created_at": note.created_at})


def _summary(request: HttpRequest, conversation_id: int) -> dict:
    return summary_of(request, conversation_id)
