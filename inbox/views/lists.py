"""The conversation lists: the inbox's lists (Unassigned, Mine…), search results, and the
sidebar's counts."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django_htmx.http import trigger_client_event

from accounts.access import WorkspaceRequest, in_workspace, member_required
from accounts.keys import keys_for
from accounts.workspace_lists import members
from inbox.actions.snooze import PRESETS
from inbox.inbox_version import workspace_version
from inbox.models import Conversation, Status
from inbox.selectors.conversation_counts import conversation_counts, unread_count
from inbox.selectors.conversation_list import (
    LISTS,
    conversations_listed,
    conversations_narrowed,
    conversations_page,
    sidebar_context,
)
from inbox.selectors.conversation_rows import assignee_names, conversation_rows
from inbox.selectors.mailboxes import MailboxEntry, mailboxes_listed
from inbox.selectors.search_query import confirmed, parse_query, search_conversations
from inbox.selectors.tags import TagView, tags_by_conversation, tags_listed
from trupeo.params import parse_id


def _scope(request: WorkspaceRequest) -> tuple[MailboxEntry | None, TagView | None]:
    """The mailbox and tag the lists are narrowed to (`?mailbox=` / `?tag=`): one of the
    workspace's own (its directory), else 404."""
    mailbox = tag = None
    if mailbox_id := request.GET.get("mailbox", ""):
        pk = _int_or_404(mailbox_id)
        mailbox = next((m for m in mailboxes_listed(request.workspace) if m.pk == pk), None)
        if mailbox is None:
            raise Http404("No such mailbox.")
    if tag_id := request.GET.get("tag", ""):
        pk = _int_or_404(tag_id)
        tag = next((t for t in tags_listed(request.workspace) if t.id == pk), None)
        if tag is None:
            raise Http404("No such tag.")
    return mailbox, tag


def _int_or_404(value: str) -> int:
    pk = parse_id(value)
    if pk is None:
        raise Http404("Not a number.")
    return pk


@member_required
def conversation_list(request: WorkspaceRequest) -> HttpResponse:
    """One of the inbox's lists, or search results when `q` is given (shareable URLs)."""
    listed = request.GET.get("view", "open")
    if listed not in LISTS:
        raise Http404("Unknown view.")
    mailbox, tag = _scope(request)
    version = workspace_version(request.workspace.pk)
    if request.htmx and version is not None and request.GET.get("v") == version:
        return HttpResponse(status=204)  # a live poll, and nothing changed since
    keys = keys_for(request.workspace)
    q = request.GET.get("q", "").strip()
    query = None
    if q:
        query = parse_query(q, keys=keys, workspace=request.workspace, user=request.user)
        qs = search_conversations(query, in_workspace(request, Conversation))
    else:
        qs = conversations_listed(
            in_workspace(request, Conversation),
            listed=listed,
            user=request.user,
            now=timezone.now(),
        )
    page, next_cursor = conversations_page(
        conversations_narrowed(qs, mailbox=mailbox, tag=tag),
        user=request.user,
        after=request.GET.get("after", ""),
    )
    if query is not None:
        page = confirmed(query, keys, page)
    ids = [c.pk for c in page]
    read = {c.pk: c.read_at for c in page if c.read_at is not None}
    sidebar = sidebar_context(
        request.workspace, listed="" if q else listed, mailbox=mailbox, tag=tag
    )
    tags = {t.id: t for t in sidebar["all_tags"]}
    rows = conversation_rows(
        keys,
        page,
        names=assignee_names(request.workspace, page),
        tags=tags_by_conversation(ids, tags),
        read=read,
    )
    # "Show more" wants the next rows only; the live refresh selects from the whole page.
    more = request.htmx and request.htmx.target == "more"
    template = "inbox/list.html#rows" if more else "inbox/list.html"
    response = render(
        request,
        template,
        {
            **sidebar,
            "rows": rows,
            "next_cursor": next_cursor,
            "q": q,
            "list_query": urlencode(
                {k: v for k, v in (("view", "" if q else listed), ("q", q)) if v}
            ),
            "statuses": [Status.OPEN, Status.PENDING, Status.CLOSED, Status.SPAM],
            "snooze_presets": PRESETS,
            "members": members(request.workspace),
            "poll_url": request.path
            + "?"
            + urlencode({**request.GET.dict(), "v": version or "paused"}),
            "live_paused": version is None,
        },
    )
    if request.htmx and not more:
        # The live refresh found a change: the sidebar's counts follow (list.html).
        trigger_client_event(response, "inbox-counts-stale")
    return response


@member_required
def list_counts(request: WorkspaceRequest) -> HttpResponse:
    """The sidebar with how many conversations each list holds; loaded after the page."""
    listed = request.GET.get("view", "")
    mailbox, tag = _scope(request)
    counts = conversation_counts(
        in_workspace(request, Conversation),
        workspace_id=request.workspace.pk,
        user=request.user,
        mailbox=mailbox,
        tag=tag,
    )
    notifications = unread_count(user=request.user, workspace_id=request.workspace.pk)
    return render(
        request,
        "inbox/_sidebar.html",
        {
            **sidebar_context(
                request.workspace,
                listed=listed if listed in LISTS else "",
                mailbox=mailbox,
                tag=tag,
                counts=counts,
            ),
            "counts": counts,
            "notifications": notifications,
        },
    )
