"""The conversation lists: the inbox's views (Unassigned, Mine…), search results, and the
sidebar's counts."""

from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import BadRequest
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_htmx.http import trigger_client_event

from accounts.access import WorkspaceRequest, in_workspace, member_required
from accounts.keys import keys_for
from accounts.workspace_lists import members
from inbox.actions.snooze import PRESETS
from inbox.inbox_version import workspace_version
from inbox.list_rows import rows_html
from inbox.models import (
    Conversation,
    ConversationRead,
    ConversationTag,
    Status,
)
from inbox.selectors.conversation_counts import unread_count
from inbox.selectors.conversation_list import not_snoozed
from inbox.selectors.conversation_page import confirmed, conversation_rows
from inbox.selectors.mailboxes import MailboxEntry, mailboxes_listed
from inbox.selectors.search_query import parse_query, search_conversations
from inbox.selectors.tags import TagView, tags_by_conversation, tags_listed
from trupeo.params import parse_id

PAGE_SIZE = 50
COUNTS_CACHE_SECONDS = 10

VIEWS = {
    "unassigned": _("Unassigned"),
    "mine": _("Mine"),
    "open": _("All open"),
    "pending": _("Pending"),
    "snoozed": _("Snoozed"),
    # Views are lists: plural where French agrees ("Fermées", not the status "Fermée").
    "closed": pgettext_lazy("inbox view", "Closed"),
    "spam": pgettext_lazy("inbox view", "Spam"),
}


def _filtered(request: WorkspaceRequest, view: str, now: datetime):
    qs = in_workspace(request, Conversation)
    if view == "snoozed":
        return qs.filter(snoozed_until__gt=now)
    if view in (Status.CLOSED, Status.SPAM):
        return qs.filter(status=view)
    qs = qs.filter(not_snoozed(now))
    if view == "mine":
        return qs.filter(status=Status.OPEN, assignee=request.user)
    if view == "unassigned":
        return qs.filter(status=Status.OPEN, assignee__isnull=True)
    if view == Status.PENDING:
        return qs.filter(status=Status.PENDING)
    return qs.filter(status=Status.OPEN)


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


def _narrowed(qs, mailbox: MailboxEntry | None, tag: TagView | None):
    if mailbox is not None:
        qs = qs.filter(mailbox_id=mailbox.pk)
    if tag is not None:
        qs = qs.filter(
            Exists(ConversationTag.objects.filter(conversation=OuterRef("pk"), tag_id=tag.id))
        )
    return qs


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _cursor(conversation: Conversation) -> str:
    """Keyset cursor of a row: "<microseconds since 1970>_<id>", URL-safe as it is."""
    return f"{(conversation.last_message_at - _EPOCH) // _MICROSECOND}_{conversation.pk}"


def _after(cursor: str) -> tuple[datetime, int] | None:
    """The row a "Show more" link continues after; None for the first page. A cursor we did
    not write (edited, truncated, 30 digits long) is a 400, not a wrong page."""
    if not cursor:
        return None
    micros, _sep, pk = cursor.partition("_")
    micros_ok = micros.isascii() and micros.isdigit() and len(micros) <= 18
    if not micros_ok or parse_id(pk) is None:
        raise BadRequest("This page link is broken.")
    try:
        return _EPOCH + int(micros) * _MICROSECOND, int(pk)
    except OverflowError:  # beyond year 9999
        raise BadRequest("This page link is broken.") from None


def sidebar_context(request: WorkspaceRequest, view: str, mailbox, tag) -> dict:
    """What the sidebar shows around a list or a conversation: the views, mailboxes and tags."""
    return {
        "views": VIEWS,
        "view": view,
        "mailboxes": mailboxes_listed(request.workspace),
        "all_tags": tags_listed(request.workspace),
        "current_mailbox": mailbox,
        "current_tag": tag,
        "current_tag_name": tag.name if tag else "",
        "scope": urlencode(
            {k: v for k, v in (("mailbox", mailbox and mailbox.pk), ("tag", tag and tag.id)) if v}
        ),
    }


@member_required
def conversation_list(request: WorkspaceRequest) -> HttpResponse:
    """A view of the inbox, or search results when `q` is given (shareable URLs)."""
    view = request.GET.get("view", "open")
    if view not in VIEWS:
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
        qs = _filtered(request, view, timezone.now())
    qs = (
        _narrowed(qs, mailbox, tag)
        .select_related("assignee")
        .annotate(read_at=_read_at(request.user))
        .order_by("-last_message_at", "-id")
    )
    cursor = _after(request.GET.get("after", ""))
    if cursor:
        stamp, pk = cursor
        # The redundant `lte` makes the index range do the work; the OR alone is a filter
        # applied to every earlier row (page 50 read all 49 pages before it).
        qs = qs.filter(last_message_at__lte=stamp).filter(
            Q(last_message_at__lt=stamp) | Q(last_message_at=stamp, id__lt=pk)
        )
    page = list(qs[: PAGE_SIZE + 1])
    has_more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    next_cursor = _cursor(page[-1]) if has_more else ""
    if query is not None:
        page = confirmed(query, keys, page)
    ids = [c.pk for c in page]
    read = {c.pk: c.read_at for c in page if c.read_at is not None}
    sidebar = sidebar_context(request, "" if q else view, mailbox, tag)
    tags = {t.id: t for t in sidebar["all_tags"]}
    rows = conversation_rows(keys, page, tags=tags_by_conversation(ids, tags), read=read)
    # "Show more" wants the next rows only; the live refresh selects from the whole page.
    more = request.htmx and request.htmx.target == "more"
    template = "inbox/list.html#rows" if more else "inbox/list.html"
    response = render(
        request,
        template,
        {
            **sidebar,
            "rows": rows,
            "rows_html": rows_html(rows, view="" if q else view),
            "next_cursor": next_cursor,
            "q": q,
            "list_query": urlencode(
                {k: v for k, v in (("view", "" if q else view), ("q", q)) if v}
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


def _read_at(user) -> Subquery:
    """When `user` last opened the conversation (None: never), read with the row."""
    return Subquery(
        ConversationRead.objects.filter(conversation=OuterRef("pk"), user=user).values("read_at")[
            :1
        ]
    )


@member_required
def view_counts(request: WorkspaceRequest) -> HttpResponse:
    """The sidebar with how many conversations each view holds; loaded after the page, cached
    a few seconds, one query over the conversations that are not closed."""
    view = request.GET.get("view", "")
    mailbox, tag = _scope(request)
    # Keyed by the workspace's version: any triage or new mail makes a new key, never stale.
    version = workspace_version(request.workspace.pk)
    key = (
        f"inbox-counts:{request.workspace.pk}:{version}:{request.user.pk}"
        f":{mailbox and mailbox.pk}:{tag and tag.id}"
    )
    counts = cache.get(key)
    if counts is None:
        now = timezone.now()
        awake = not_snoozed(now)
        live = _narrowed(in_workspace(request, Conversation), mailbox, tag).exclude(
            status=Status.CLOSED
        )
        counts = live.aggregate(
            open=Count("pk", filter=Q(status=Status.OPEN) & awake),
            mine=Count("pk", filter=Q(status=Status.OPEN, assignee=request.user) & awake),
            unassigned=Count("pk", filter=Q(status=Status.OPEN, assignee__isnull=True) & awake),
            pending=Count("pk", filter=Q(status=Status.PENDING) & awake),
            snoozed=Count("pk", filter=Q(snoozed_until__gt=now)),
            spam=Count("pk", filter=Q(status=Status.SPAM)),
        )
        cache.set(key, counts, COUNTS_CACHE_SECONDS)
    notifications = unread_count(user=request.user, workspace_id=request.workspace.pk)
    return render(
        request,
        "inbox/_sidebar.html",
        {
            **sidebar_context(request, view if view in VIEWS else "", mailbox, tag),
            "counts": counts,
            "notifications": notifications,
        },
    )
