"""The triage UI: conversation lists and the conversation page."""

from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, get_in_workspace, in_workspace, member_required
from accounts.keys import keys_for
from accounts.models import Membership
from inbox import triage
from inbox.models import Attachment, Conversation, Message, Status
from inbox.presenters import (
    confirmed,
    conversation_rows,
    conversation_summary,
    message_html,
    message_view,
    trail,
)
from inbox.sealing import open_json, stored_attachment_row
from inbox.search_query import parse_query, search_conversations
from trupeo.storage import open_sealed

PAGE_SIZE = 50

VIEWS = {
    "open": _("All open"),
    "mine": _("Mine"),
    "unassigned": _("Unassigned"),
    "pending": _("Pending"),
    "closed": _("Closed"),
}


def _filtered(request: WorkspaceRequest, view: str):
    qs = in_workspace(request, Conversation)
    if view == "mine":
        return qs.filter(status=Status.OPEN, assignee=request.user)
    if view == "unassigned":
        return qs.filter(status=Status.OPEN, assignee__isnull=True)
    if view in (Status.PENDING, Status.CLOSED):
        return qs.filter(status=view)
    return qs.filter(status=Status.OPEN)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _cursor(conversation: Conversation) -> str:
    """Keyset cursor of a row: "<microseconds since 1970>_<id>", URL-safe as it is."""
    return f"{(conversation.last_message_at - _EPOCH) // _MICROSECOND}_{conversation.pk}"


def _after(cursor: str) -> tuple[datetime, int] | None:
    try:
        micros, pk = (int(part) for part in cursor.split("_", 1))
    except ValueError:
        return None
    return _EPOCH + micros * _MICROSECOND, pk


@member_required
def conversation_list(request: WorkspaceRequest) -> HttpResponse:
    """A view of the inbox, or search results when `q` is given (shareable URLs)."""
    view = request.GET.get("view", "open")
    if view not in VIEWS:
        raise Http404("Unknown view.")
    keys = keys_for(request.workspace)
    q = request.GET.get("q", "").strip()
    query = None
    if q:
        query = parse_query(q, keys=keys, workspace=request.workspace, user=request.user)
        qs = search_conversations(query, in_workspace(request, Conversation))
    else:
        qs = _filtered(request, view)
    qs = qs.select_related("assignee").order_by("-last_message_at", "-id")
    cursor = _after(request.GET.get("after", ""))
    if cursor:
        stamp, pk = cursor
        qs = qs.filter(Q(last_message_at__lt=stamp) | Q(last_message_at=stamp, id__lt=pk))
    page = list(qs[: PAGE_SIZE + 1])
    has_more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    next_cursor = _cursor(page[-1]) if has_more else ""
    if query is not None:
        page = confirmed(query, keys, page)
    rows = conversation_rows(keys, page)
    # "Show more" wants the next rows only; the live refresh selects from the whole page.
    more = request.htmx and request.htmx.target == "more"
    template = "inbox/list.html#rows" if more else "inbox/list.html"
    return render(
        request,
        template,
        {
            "rows": rows,
            "view": "" if q else view,
            "views": VIEWS,
            "next_cursor": next_cursor,
            "q": q,
        },
    )


@member_required
def conversation_detail(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = get_in_workspace(
        request, Conversation.objects.select_related("mailbox", "assignee"), pk=conversation_id
    )
    keys = keys_for(request.workspace)
    # Not "messages": that name belongs to django.contrib.messages in every template.
    mails = (
        Message.objects.filter(conversation=conversation)
        .prefetch_related("attachments")
        .order_by("received_at", "id")
    )
    return render(
        request,
        "inbox/conversation.html",
        {
            "conversation": conversation,
            "summary": conversation_summary(keys, conversation),
            "mails": [message_view(keys, m) for m in mails],
            "trail": trail(keys, conversation),
            "members": Membership.objects.filter(workspace=request.workspace)
            .select_related("user")
            .order_by("user__name"),
            "statuses": [Status.OPEN, Status.PENDING, Status.CLOSED, Status.SPAM],
            "views": VIEWS,
            "view": conversation.status if conversation.status != Status.OPEN else "open",
        },
    )


# Shown in the browser only when harmless; everything else is downloaded.
_INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}


@member_required
def attachment_download(request: WorkspaceRequest, attachment_id: int) -> StreamingHttpResponse:
    """An attachment, decrypted on the fly as it streams; never written anywhere in clear."""
    attachment = get_in_workspace(
        request, Attachment.objects.select_related("message"), pk=attachment_id
    )
    keys = keys_for(request.workspace)
    row = stored_attachment_row(attachment)
    meta = open_json(keys, attachment.meta_sealed, field="attachment.meta", row=row)
    inline = attachment.content_type in _INLINE_TYPES and request.GET.get("download") != "1"
    response = StreamingHttpResponse(
        open_sealed(attachment.object_key, keys, field="attachment.content", row=row),
        content_type=attachment.content_type if inline else "application/octet-stream",
    )
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition_header(
        not inline, meta.get("filename") or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, the file may not run anything in our origin.
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    response["Cache-Control"] = "private, no-store"
    return response


# The mail's own HTML, framed: no script, no form, nothing remote (images from other sites
# stay blocked), only our own attachment URLs for inline images.
_MAIL_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox allow-popups "
    "allow-popups-to-escape-sandbox"
)


@xframe_options_sameorigin
@member_required
def message_html_view(request: WorkspaceRequest, message_id: int) -> HttpResponse:
    message = get_in_workspace(
        request, Message.objects.prefetch_related("attachments"), pk=message_id
    )
    html = message_html(
        keys_for(request.workspace),
        message,
        lambda pk: reverse("attachment_download", args=[pk]),
    )
    response = HttpResponse(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><base target="_blank"></head>'
        f"<body>{html}</body></html>",
        content_type="text/html; charset=utf-8",
    )
    response["Content-Security-Policy"] = _MAIL_CSP
    response["Cache-Control"] = "private, no-store"
    return response


@member_required
@require_POST
def conversation_triage(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    """Assign, change the status or add a note; back to the conversation."""
    conversation = get_in_workspace(
        request, Conversation.objects.select_related("workspace"), pk=conversation_id
    )
    action = request.POST.get("action", "")
    try:
        if action == "assign":
            assignee_id = request.POST.get("assignee", "")
            assignee = None
            if assignee_id == "me":
                assignee = request.user
            elif assignee_id:
                membership = get_in_workspace(
                    request, Membership.objects.select_related("user"), user_id=assignee_id
                )
                assignee = membership.user
            triage.conversation_assign(
                conversation=conversation, assignee=assignee, actor=request.user
            )
        elif action == "status":
            triage.conversation_set_status(
                conversation=conversation, status=request.POST.get("status", ""), actor=request.user
            )
        elif action == "note":
            triage.note_add(
                conversation=conversation, author=request.user, body=request.POST.get("body", "")
            )
        else:
            raise ValidationError(_("Unknown action."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("conversation", conversation_id=conversation.pk)
