"""The composer: reply, reply all, forward and new messages from a shared address.

Drafts live on the server (sealed, like everything else) and are saved as the person types;
teammates see who has one. Before a draft leaves, two checks can stop it for a confirmation:
what arrived in the conversation since the composer was shown (the draft guard), and
recipients from outside who were not in the conversation. The presence heartbeat lives here
too: the conversation page tells who else is viewing or replying.

Every view works without JavaScript (full pages and redirects); with htmx the same views
answer with the composer's fragments.
"""

from collections.abc import Callable
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import WorkspaceRequest, get_in_workspace, in_workspace, member_required
from accounts.keys import keys_for
from accounts.models import Membership
from inbox.actions import compose as drafting
from inbox.actions import forwarding, holding
from inbox.mail.addresses import display_addresses
from inbox.mail.rich_text import signature_text
from inbox.mail.sending import (
    MAX_ATTACHMENTS_BYTES,
    OutgoingStateError,
    attachment_too_large_message,
    outgoing_attach,
    outgoing_attachments,
    outgoing_content,
    outgoing_detach,
    outgoing_discard,
    outgoing_queue,
    outgoing_retry,
    outgoing_update,
    recipients_over_limit,
)
from inbox.models import Conversation, Mailbox, Outgoing, OutgoingKind, SavedReply, SendState
from inbox.presence import (
    HEARTBEAT,
    presence_available,
    presence_leave,
    presence_others,
    presence_touch,
)
from inbox.selectors.conversation_rows import conversation_summary
from inbox.selectors.saved_replies import (
    render_variables,
    saved_replies_for,
    saved_reply_open,
    variable_values,
)
from trupeo.params import parse_id

FORM = "inbox/_composer.html#form"
REPLY_KINDS = (OutgoingKind.REPLY, OutgoingKind.REPLY_ALL, OutgoingKind.FORWARD)


# --- helpers ------------------------------------------------------------------------------------


def _addresses(values: list[dict]) -> str:
    # As people read and type them: never RFC 2047-encoded (that is for the wire only).
    return display_addresses(values)


def _typed(request: WorkspaceRequest, name: str) -> str:
    # People separate addresses with ";" as often as with ",".
    return request.POST.get(name, "").replace(";", ",")


def _own_draft(request: WorkspaceRequest, outgoing_id: int) -> Outgoing:
    """The person's own outgoing; a teammate's is theirs to send (404, like another
    workspace's)."""
    return get_in_workspace(
        request,
        # The workspace too: its keys open the draft and its limit counts the recipients.
        Outgoing.objects.select_related("mailbox", "conversation", "author", "workspace"),
        pk=outgoing_id,
        author=request.user,
    )


def _posted_seen(request: WorkspaceRequest) -> str | None:
    """The "seen up to" marker the form carried (None: none, the composer computes it)."""
    seen = (request.POST.get("seen") or request.GET.get("seen") or "").strip()
    return seen if drafting.valid_marker(seen) else None


def _to_draft(outgoing: Outgoing, seen: str | None) -> HttpResponse:
    """The draft's own page (without JavaScript), keeping the marker of what was seen."""
    url = reverse("draft", args=[outgoing.pk])
    return redirect(f"{url}?{urlencode({'seen': seen})}" if seen else url)


def _gone(request: WorkspaceRequest, outgoing: Outgoing) -> HttpResponse:
    """The answer to a change of a message that already left (a double click, a second tab)."""
    messages.info(request, _("This message has already been sent or queued."))
    return _leave(request, outgoing)


def _go(request: WorkspaceRequest, url: str) -> HttpResponse:
    if request.htmx:
        # No content to swap: htmx follows the header.
        return HttpResponseClientRedirect(url, status=204)
    return redirect(url)


def _leave(request: WorkspaceRequest, outgoing: Outgoing | None) -> HttpResponse:
    return _go(
        request,
        reverse("conversation", args=[outgoing.conversation_id])
        if outgoing is not None and outgoing.conversation_id
        else reverse("inbox"),
    )


def _changed(request: WorkspaceRequest, change: Callable[[], object]) -> bool:
    """A person's change of their message that a worker may have overtaken: False, and why in
    words, when its state no longer allows it."""
    try:
        change()
    except OutgoingStateError as error:
        messages.error(request, str(error))
        return False
    return True


def _leaving(mine) -> list[Outgoing]:
    """The person's recent messages still on their way, or not sent."""
    recent = timezone.now() - timedelta(days=2)
    return list(
        mine.filter(
            (
                Q(state__in=[SendState.QUEUED, SendState.SENDING, SendState.FAILED])
                | Q(state=SendState.SENT, message__isnull=True)
            )
            # A message scheduled for next week is shown however long ago it was scheduled.
            & (Q(updated_at__gte=recent) | Q(state=SendState.QUEUED))
        ).order_by("-updated_at")[:5]
    )


def _form_context(
    request: WorkspaceRequest,
    outgoing: Outgoing,
    *,
    seen: str | None = None,
    errors: list[str] | None = None,
    outside: list[str] | None = None,
    arrivals: list | None = None,
    typed: dict | None = None,
) -> dict:
    keys = keys_for(request.workspace)
    content = outgoing_content(outgoing, keys)
    conversation = outgoing.conversation
    values = {
        "to": _addresses(content.get("to", [])),
        "cc": _addresses(content.get("cc", [])),
        "bcc": _addresses(content.get("bcc", [])),
        "subject": content.get("subject", ""),
        "body": content.get("body", ""),
        "note": content.get("note", ""),
        "html": drafting.draft_editor_html(outgoing, keys, content),
        "quote": drafting.draft_quoted_text(outgoing, keys, content)
        if outgoing.kind in (OutgoingKind.REPLY, OutgoingKind.REPLY_ALL)
        else "",
    }
    values.update(typed or {})  # what the person typed, when it could not be saved as it is
    return {
        "outgoing": outgoing,
        "conversation": conversation,
        "values": values,
        "show_copies": bool(values["cc"] or values["bcc"]),
        "signature": signature_text(content.get("signature", "")),
        "attachments": outgoing_attachments(outgoing, keys),
        "max_attachments_mb": MAX_ATTACHMENTS_BYTES // (1024 * 1024),
        "max_attachments_bytes": MAX_ATTACHMENTS_BYTES,
        "too_large_message": attachment_too_large_message(),
        "seen": seen
        if seen is not None
        else (drafting.seen_marker(conversation) if conversation else ""),
        "saved_replies": saved_replies_for(workspace=request.workspace, mailbox=outgoing.mailbox),
        "errors": errors or [],
        "outside": outside or [],
        "arrivals": arrivals or [],
        "quoted": outgoing.kind in (OutgoingKind.REPLY, OutgoingKind.REPLY_ALL),
        "forwarded": outgoing.kind == OutgoingKind.FORWARD,
        "is_admin": request.membership.is_admin,
        "send_presets": holding.SEND_PRESETS.items(),
        "follow_up_presets": holding.FOLLOW_UP_PRESETS.items(),
        "undo_seconds": request.workspace.undo_send_seconds,
    }


def _render_form(request: WorkspaceRequest, outgoing: Outgoing, **kwargs) -> HttpResponse:
    context = _form_context(request, outgoing, **kwargs)
    return render(request, FORM if request.htmx else "inbox/compose.html", context)


def _save_typed(request: WorkspaceRequest, outgoing: Outgoing) -> list[str]:
    """Save what the form holds; returns the problems in words (the rest is saved anyway:
    a mistyped address must not lose the text being written)."""
    fields = {
        "to": _typed(request, "to"),
        "cc": _typed(request, "cc"),
        "bcc": _typed(request, "bcc"),
        "subject": request.POST.get("subject", ""),
        "body": request.POST.get("body", ""),
    }
    if "note" in request.POST:  # a forward's internal note (never sent)
        fields["note"] = request.POST["note"]
    if "quote" in request.POST and outgoing.kind in (OutgoingKind.REPLY, OutgoingKind.REPLY_ALL):
        fields["quote"] = request.POST["quote"]
    if not any(name in request.POST for name in fields):
        return []
    if "html" in request.POST:  # the rich editor: the text is derived here, never trusted
        fields["html"], text = drafting.draft_rich_text(
            outgoing=outgoing, html=request.POST["html"]
        )
        if fields["html"]:
            fields["body"] = text
    try:
        outgoing_update(outgoing=outgoing, **fields)
    except ValidationError as error:
        outgoing_update(
            outgoing=outgoing,
            subject=fields["subject"],
            body=fields["body"],
            note=fields.get("note"),
            html=fields.get("html"),
            quote=fields.get("quote"),
        )
        return list(error.messages)
    return []


# --- opening a composer ---------------------------------------------------------------------------


@member_required
def composer_slot(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    """What the conversation page shows under the messages once loaded: the person's draft
    on this conversation (resumed), and their messages still on their way or not sent."""
    conversation = get_in_workspace(request, Conversation, pk=conversation_id)
    mine = Outgoing.objects.filter(conversation=conversation, author=request.user)
    draft = mine.filter(state=SendState.DRAFT).select_related("mailbox", "conversation")
    draft = draft.order_by("-updated_at").first()
    leaving = _leaving(mine)
    now = timezone.now()
    waiting = [
        o for o in leaving if o.state == SendState.QUEUED and o.lease_until and o.lease_until > now
    ]
    moving = [o for o in leaving if o.state != SendState.FAILED and o not in waiting]
    # In its undo window: polled often, so that "Undo" goes once it has left.
    soon = [o for o in waiting if o.lease_until <= now + timedelta(minutes=1)]
    context = {
        "conversation": conversation,
        "leaving": leaving,
        "now": now,
        "undo_horizon": now + timedelta(minutes=1),
        # Polled while something is on its way (slowly while it only waits for its next try);
        # a failure waits for the person.
        "pending": bool(moving or waiting),
        "poll": 3 if moving or soon else 30,
    }
    if request.GET.get("part") == "outbox":
        return render(request, "inbox/_composer.html#outbox", context)
    if draft is not None:
        context.update(_form_context(request, draft))
    return render(request, "inbox/_composer.html#slot", context)


@member_required
@require_POST
def composer_open(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    """Reply, reply all or forward: the person's draft for it, resumed or new."""
    conversation = get_in_workspace(
        request, Conversation.objects.select_related("mailbox", "workspace"), pk=conversation_id
    )
    kind = request.POST.get("kind", OutgoingKind.REPLY)
    if kind not in REPLY_KINDS:
        kind = OutgoingKind.REPLY
    message_id = request.POST.get("message", "")
    message = drafting.answered_message(conversation, parse_id(message_id))
    if message is None:
        messages.error(request, _("There is no message to answer in this conversation."))
        return _leave(request, Outgoing(conversation=conversation))
    draft = drafting.draft_open(
        conversation=conversation, author=request.user, kind=kind, message=message
    )
    if request.htmx:
        return _render_form(request, draft)
    return _to_draft(draft, drafting.seen_marker(conversation))


@member_required
def compose_new(request: WorkspaceRequest) -> HttpResponse:
    """A new message: choose the shared address it leaves from."""
    mailboxes = list(in_workspace(request, Mailbox).order_by("address"))
    if request.method == "POST":
        chosen = request.POST.get("mailbox", "")
        mailbox = next((m for m in mailboxes if str(m.pk) == chosen), None)
        if mailbox is not None:
            draft = drafting.draft_new(mailbox=mailbox, author=request.user)
            return redirect("draft", draft.pk)
        messages.error(request, _("Choose the address the message leaves from."))
    drafts = (
        in_workspace(request, Outgoing)
        .filter(author=request.user, state=SendState.DRAFT, kind=OutgoingKind.NEW)
        .select_related("mailbox")
        .order_by("-updated_at")[:10]
    )
    # New messages have no conversation page to show how they are doing: shown here.
    mine = in_workspace(request, Outgoing).filter(author=request.user, kind=OutgoingKind.NEW)
    return render(
        request,
        "inbox/compose_new.html",
        {
            "mailboxes": mailboxes,
            "drafts": list(drafts),
            "leaving": _leaving(mine),
            "now": timezone.now(),
            "undo_horizon": timezone.now() + timedelta(minutes=1),
        },
    )


@member_required
def draft_detail(request: WorkspaceRequest, outgoing_id: int) -> HttpResponse:
    outgoing = _own_draft(request, outgoing_id)
    if outgoing.state != SendState.DRAFT:
        return _gone(request, outgoing)
    return _render_form(request, outgoing, seen=_posted_seen(request))


# --- while writing --------------------------------------------------------------------------------


@member_required
@require_POST
def draft_save(request: WorkspaceRequest, outgoing_id: int) -> HttpResponse:
    """The autosave (htmx, debounced) and the "Save the draft" button without JavaScript."""
    outgoing = _own_draft(request, outgoing_id)
    if outgoing.state != SendState.DRAFT:
        return _gone(request, outgoing)
    try:
        errors = _save_typed(request, outgoing)
    except OutgoingStateError:
        return _gone(request, outgoing)
    if not request.htmx:
        if errors:
            return _render_form(request, outgoing, errors=errors, seen=_posted_seen(request))
        messages.success(request, _("The draft is saved."))
        return _to_draft(outgoing, _posted_seen(request))
    if not errors and (over := recipients_over_limit(outgoing)):
        errors = [over]
    outside = [] if errors else drafting.new_outside_recipients(outgoing)
    return render(
        request,
        "inbox/_composer.html#status",
        {
            "saved_at": timezone.now(),
            "errors": errors,
            "outside": outside,
            "conversation": outgoing.conversation,
        },
    )


@member_required
@require_POST
def draft_attachments(request: WorkspaceRequest, outgoing_id: int) -> HttpResponse:
    """Add a file (multipart upload) or remove one (`remove=<token>`)."""
    outgoing = _own_draft(request, outgoing_id)
    if outgoing.state != SendState.DRAFT:
        return _gone(request, outgoing)
    errors = _save_typed(request, outgoing)
    try:
        if request.POST.get("remove"):
            outgoing_detach(outgoing=outgoing, token=request.POST["remove"])
        for upload in request.FILES.getlist("file"):
            outgoing_attach(
                outgoing=outgoing,
                filename=upload.name or "",
                content_type=upload.content_type or "",
                size=upload.size or 0,
                chunks=upload.chunks(),
            )
    except ValidationError as error:
        errors += error.messages
    except OutgoingStateError:
        return _gone(request, outgoing)
    if request.htmx:
        return render(
            request,
            "inbox/_composer.html#attachments",
            {
                **_form_context(request, outgoing),
                "attachment_errors": errors,
            },
        )
    if errors:
        return _render_form(request, outgoing, errors=errors, seen=_posted_seen(request))
    return _to_draft(outgoing, _posted_seen(request))


@member_required
@require_POST
def draft_discard(request: WorkspaceRequest, outgoing_id: int) -> HttpResponse:
    outgoing = _own_draft(request, outgoing_id)
    try:
        outgoing_discard(outgoing=outgoing)
    except OutgoingStateError:
        return _gone(request, outgoing)
    messages.success(request, _("The draft is deleted."))
    return _leave(request, outgoing)


@member_required
def saved_reply_insert(request: WorkspaceRequest, saved_reply_id: int) -> JsonResponse:
    """A saved reply with its variables filled in for a draft (`?draft=<id>`), as JSON for the
    composer to insert at the cursor. Unknown or empty variables are left visible and named."""
    saved_reply = get_in_workspace(
        request, SavedReply.objects.select_related("mailbox"), pk=saved_reply_id
    )
    draft_id = request.GET.get("draft", "")
    outgoing = _own_draft(request, parse_id(draft_id) or 0)
    keys = keys_for(request.workspace)
    content = outgoing_content(outgoing, keys)
    customer: dict = {}
    subject = content.get("subject", "")
    if outgoing.conversation_id:
        summary = conversation_summary(keys, outgoing.conversation)
        customer = {"name": summary.get("name") or "", "address": summary.get("address") or ""}
        subject = summary.get("subject") or subject
    elif content.get("to"):
        customer = content["to"][0]
    values = variable_values(
        customer=customer, agent=request.user, mailbox=outgoing.mailbox, subject=subject
    )
    rendered = render_variables(saved_reply_open(keys, saved_reply).body, values)
    warnings = []
    if rendered.unknown:
        warnings.append(
            _("Not a variable, left as it is: %(names)s.")
            % {"names": ", ".join("{{ " + n + " }}" for n in rendered.unknown)}
        )
    if rendered.empty:
        warnings.append(
            _("No value here for %(names)s: replace it by hand.")
            % {"names": ", ".join("{{ " + n + " }}" for n in rendered.empty)}
        )
    return JsonResponse(
        {
            "text": rendered.text,
            "unknown": rendered.unknown,
            "empty": rendered.empty,
            "warnings": warnings,
        }
    )


# --- sending -------------------------------------------------------------------------------------


@member_required
@require_POST
def draft_send(request: WorkspaceRequest, outgoing_id: int) -> HttpResponse:
    outgoing = _own_draft(request, outgoing_id)
    if outgoing.state != SendState.DRAFT:
        return _gone(request, outgoing)
    typed = {
        name: request.POST.get(name, "")
        for name in ("to", "cc", "bcc", "subject", "body", "note")
        if name in request.POST
    }
    try:
        errors = _save_typed(request, outgoing)
    except OutgoingStateError:
        return _gone(request, outgoing)
    if errors:
        return _render_form(
            request, outgoing, errors=errors, typed=typed, seen=_posted_seen(request)
        )

    over = recipients_over_limit(outgoing)
    if over:  # before naming 1,500 outside addresses one by one
        return _render_form(request, outgoing, errors=[over], seen=_posted_seen(request))

    conversation = outgoing.conversation
    arrivals, seen = [], None
    if conversation is not None:
        # Taken before looking: whatever arrives from now on is asked about next time.
        seen = drafting.seen_marker(conversation)
        keys = keys_for(request.workspace)
        arrivals = drafting.arrived_since(keys, conversation, request.POST.get("seen", ""))
    # Each warning is confirmed for its reason: confirming a new address is not confirming
    # that the requester gets a copy, nor is it valid for an address added since.
    outside = [
        w
        for w in drafting.recipient_warnings(outgoing)
        if w.address not in {a.strip().lower() for a in request.POST.getlist(w.field)}
    ]
    if arrivals or outside:
        return _render_form(request, outgoing, seen=seen, arrivals=arrivals, outside=outside)

    try:
        later = holding.send_time(
            preset=request.POST.get("send_later", ""),
            typed=request.POST.get("send_at", ""),
            asked="schedule" in request.POST,
        )
        follow_up = holding.follow_up_time(request.POST.get("follow_up", ""))
        # Held for the undo window, or until the chosen time: a worker sends it then.
        not_before = later or timezone.now() + holding.undo_delay(outgoing)
        if follow_up is not None:
            holding.follow_up_check(
                conversation=conversation, until=follow_up, leaves_at=not_before
            )
        drafting.draft_refresh_signature(outgoing=outgoing)
        outgoing_queue(outgoing=outgoing, not_before=not_before)
        if follow_up is not None:
            holding.follow_up_set(outgoing=outgoing, until=follow_up, actor=request.user)
        forwarding.forward_note_add(outgoing=outgoing, author=request.user)
    except ValidationError as error:
        return _render_form(
            request, outgoing, errors=list(error.messages), seen=_posted_seen(request)
        )
    except OutgoingStateError as error:
        outgoing.refresh_from_db(fields=["state"])
        if outgoing.state != SendState.DRAFT:
            return _gone(request, outgoing)
        # Not sent for another reason (a read-only workspace): the draft stays, in words why.
        return _render_form(request, outgoing, errors=[str(error)], seen=_posted_seen(request))
    if conversation is not None:
        presence_touch(conversation_id=conversation.pk, user_id=request.user.pk, replying=False)
    if later is not None:
        messages.success(
            request,
            _("Your message will leave on %(when)s.")
            % {"when": date_format(timezone.localtime(later), "SHORT_DATETIME_FORMAT")},
        )
    else:
        messages.success(request, _("Your message is on its way."))
    return _leave(request, outgoing)


@member_required
@require_POST
def outgoing_undo_view(request: WorkspaceRequest, outgoing_id: int) -> HttpResponse:
    """ "Annuler": the person's held message comes back as a draft, unless a worker took it."""
    outgoing = _own_draft(request, outgoing_id)
    if not _changed(request, lambda: holding.outgoing_unqueue(outgoing=outgoing)):
        return _leave(request, outgoing)
    messages.success(request, _("Not sent: your draft is back."))
    if outgoing.conversation_id:
        return _leave(request, outgoing)  # the conversation page opens the draft again
    return _go(request, reverse("draft", args=[outgoing.pk]))


@member_required
@require_POST
def outgoing_retry_view(request: WorkspaceRequest, outgoing_id: int) -> HttpResponse:
    """A person's Retry of their message that was not sent."""
    outgoing = _own_draft(request, outgoing_id)
    if _changed(request, lambda: outgoing_retry(outgoing=outgoing)):
        messages.success(request, _("Your message is on its way."))
    return _leave(request, outgoing)


# --- presence ------------------------------------------------------------------------------------


@member_required
@require_POST
def conversation_presence(request: WorkspaceRequest, conversation_id: int) -> HttpResponse:
    """The heartbeat of an open conversation page, answered with who else is there and which
    teammates have a draft on it."""
    conversation = get_in_workspace(request, Conversation, pk=conversation_id)
    if request.POST.get("activity") == "leave":  # the page is closing (sendBeacon)
        presence_leave(conversation_id=conversation.pk, user_id=request.user.pk)
        return HttpResponse(status=204)
    replying = request.POST.get("activity") == "replying"
    presence_touch(conversation_id=conversation.pk, user_id=request.user.pk, replying=replying)
    members = {
        m.user_id: m.user
        for m in Membership.objects.filter(workspace=request.workspace).select_related("user")
    }
    others = presence_others(
        conversation_id=conversation.pk, user_ids=list(members), exclude=request.user.pk
    )
    drafts = (
        Outgoing.objects.filter(conversation=conversation, state=SendState.DRAFT)
        .exclude(author=request.user)
        .exclude(author__isnull=True)
        .values_list("author_id", flat=True)
        .distinct()
    )
    return render(
        request,
        "inbox/_presence.html#people",
        {
            "conversation": conversation,
            "present": [(members[p.user_id], p.state) for p in others],
            "drafting": [members[pk] for pk in drafts if pk in members],
            "heartbeat": HEARTBEAT,
            "presence_paused": not presence_available(),
        },
    )
