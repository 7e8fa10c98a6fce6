"""The conversation page, its live refresh, its attachments and the mail's own HTML, framed."""

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.clickjacking import xframe_options_sameorigin

from accounts.access import WorkspaceRequest, get_in_workspace, member_required
from accounts.keys import keys_for
from accounts.workspace_lists import members
from inbox.actions.reading import conversation_mark_read
from inbox.actions.snooze import PRESETS
from inbox.mail.sealing import open_json, stored_attachment_row
from inbox.models import Attachment, Conversation, ConversationTag, Message, Status
from inbox.selectors.conversation_list import sidebar_context
from inbox.selectors.conversation_page import (
    conversation_messages,
    conversation_stamp,
    for_page,
    message_html,
    message_view,
    trail,
    trusted_senders,
)
from inbox.selectors.conversation_rows import conversation_summary
from inbox.selectors.satisfaction import conversation_rating
from inbox.selectors.tags import tags_listed
from trupeo.storage import open_sealed


@member_required
def conversation_detail(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    conversation = get_in_workspace(request, for_page(request.user), pk=conversation_id)
    conversation_mark_read(conversation=conversation, user=request.user)
    return render(request, "inbox/conversation.html", conversation_context(request, conversation))


def conversation_context(request: WorkspaceRequest, conversation: Conversation) -> dict:
    """What the conversation page shows; `conversation` comes from `for_page`."""
    keys = keys_for(request.workspace)
    views = conversation_messages(keys, conversation)
    # Asked only about the senders whose remote images the page would offer to show.
    trusted = trusted_senders(
        keys, request.workspace, [m.sender.get("address", "") for m in views if m.has_remote_images]
    )
    # Every triage form posts here: reversed once, not once per form.
    triage_url = reverse("conversation_triage", args=[conversation.pk])
    all_tags = tags_listed(request.workspace)
    names = {t.id: t.name for t in all_tags}
    tag_ids = set(
        ConversationTag.objects.filter(conversation=conversation).values_list("tag_id", flat=True)
    )
    people = members(request.workspace)
    status_view = conversation.status if conversation.status != Status.OPEN else "open"
    return {
        **sidebar_context(request.workspace, listed=status_view, mailbox=None, tag=None),
        "conversation": conversation,
        "summary": conversation_summary(keys, conversation),
        "timeline": _timeline(
            views, trail(keys, conversation, names, {m.user_id: m.name for m in people}), trusted
        ),
        "tags": [t for t in all_tags if t.id in tag_ids],
        "other_tags": [t for t in all_tags if t.id not in tag_ids],
        "following": conversation.followed,
        "members": people,
        "triage_url": triage_url,
        "statuses": [Status.OPEN, Status.PENDING, Status.CLOSED, Status.SPAM],
        "snooze_presets": PRESETS,
        "stamp": conversation_stamp(conversation),
        "satisfaction": conversation_rating(keys, conversation),
        "is_snoozed": bool(
            conversation.snoozed_until and conversation.snoozed_until > timezone.now()
        ),
    }


def _timeline(mails: list, items: list, trusted: set[str]) -> list[dict]:
    """Messages with the notes and activity interleaved, in the order they happened.
    Every message but the first can be split off; `trusted` senders' remote images are shown
    (addresses matched whatever their case)."""
    entries = [
        {
            "when": m.date,
            "message": m,
            "first": i == 0,
            "trusted": m.sender_address.lower() in trusted,
        }
        for i, m in enumerate(mails)
    ]
    entries += [{"when": item.when, "item": item} for item in items]
    return sorted(entries, key=lambda e: e["when"])


@member_required
def conversation_live(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    """Polled every few seconds by the open conversation: nothing (204) while nothing changed,
    else the fresh messages, trail and header, swapped in place (the composer is untouched)."""
    conversation = get_in_workspace(request, for_page(request.user), pk=conversation_id)
    if request.GET.get("stamp", "") == conversation_stamp(conversation):
        return HttpResponse(status=204)
    conversation_mark_read(conversation=conversation, user=request.user)
    return render(
        request, "inbox/conversation.html#live", conversation_context(request, conversation)
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
# stay blocked unless asked for), only our own attachment URLs for inline images.
_MAIL_CSP = (
    "default-src 'none'; img-src {images}; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox allow-popups "
    "allow-popups-to-escape-sandbox"
)
_OWN_IMAGES = "'self' data:"
# Remote images, once asked for: the reader's browser fetches them, never our server.
_REMOTE_IMAGES = "'self' data: https: http:"


@xframe_options_sameorigin
@member_required
def message_html_view(request: WorkspaceRequest, message_id: int) -> HttpResponse:
    message = get_in_workspace(
        request, Message.objects.prefetch_related("attachments"), pk=message_id
    )
    keys = keys_for(request.workspace)
    html = message_html(keys, message, lambda pk: reverse("attachment_download", args=[pk]))
    remote = request.GET.get("images") == "1" or bool(
        trusted_senders(
            keys, request.workspace, [message_view(keys, message).sender.get("address", "")]
        )
    )
    # No request: the frame needs none of the context processors (nor their queries).
    response = HttpResponse(
        render_to_string("inbox/message_frame.html", {"html": html}),
        content_type="text/html; charset=utf-8",
    )
    response["Content-Security-Policy"] = _MAIL_CSP.format(
        images=_REMOTE_IMAGES if remote else _OWN_IMAGES
    )
    response["Cache-Control"] = "private, no-store"
    return response
