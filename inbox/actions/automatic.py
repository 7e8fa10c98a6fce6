"""Automatic mail to requesters, loop-safe by the rules of RFC 3834.

* An acknowledgement when a customer opens a conversation (per mailbox, off by default),
  decided on `mail_stored` (inbox.mail.signals) inside the ingestion transaction;
* a notification when their conversation is closed (with the rating links when the mailbox
  asks for satisfaction) or answered (`outgoing_sent_notify`, on `outgoing_sent`: the team's
  reply left; the notification points to the portal, where the whole conversation is).

Everything goes out through the mailbox's own server by the outgoing state machine
(inbox.mail.sending): composed once, claimed once, never sent twice, threaded with
In-Reply-To / References, filed in Sent, and marked `Auto-Submitted: auto-replied`
(OutgoingKind.AUTO).

Nothing automatic answers a message its headers mark as automatic, bulk, a bounce, no-reply or
spam (inbox.mail.auto_submitted, stored on Message.no_autoreply_reason), a message from one of
the workspace's own mailboxes, or a conversation marked spam. An AutomaticMail row is written
before each message is queued; its unique constraints allow one acknowledgement per requester
and day (and per conversation), and one notification of each kind per conversation and day: a
second worker's insert fails there, so two never both send.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.keys import keys_for
from inbox.actions.satisfaction import satisfaction_request_create
from inbox.mail import compose
from inbox.mail.auto_submitted import OWN_ADDRESS, SPAM
from inbox.mail.sealing import mailbox_row, seal_json
from inbox.mail.sending import outgoing_create, outgoing_queue
from inbox.mail.signals import Arrivals
from inbox.models import (
    AutomaticKind,
    AutomaticMail,
    Conversation,
    Direction,
    Mailbox,
    Message,
    Outgoing,
    OutgoingKind,
    Status,
)
from inbox.selectors import automatic as texts

logger = logging.getLogger("inbox.automatic")

# Mail older than this when it is stored (a first sync, a late fetch) is never acknowledged.
FRESH_FOR = timedelta(hours=24)
MAX_TEMPLATE_CHARS = 5000


# --- settings ------------------------------------------------------------------------------


def mailbox_automatic_set(
    *,
    mailbox: Mailbox,
    auto_ack: bool,
    auto_language: str,
    expected_reply_hours: int | None,
    auto_portal_link: bool,
    notify_closed: bool,
    notify_answered: bool,
    satisfaction: bool,
    template_fr: str,
    template_en: str,
) -> None:
    """Save a mailbox's automatic mail settings; an empty template goes back to the default."""
    templates = {}
    for language, text in (("fr", template_fr), ("en", template_en)):
        text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if len(text) > MAX_TEMPLATE_CHARS:
            raise ValidationError(
                translation.gettext("A message may have %(limit)s characters at most.")
                % {"limit": MAX_TEMPLATE_CHARS},
                code="too_long",
            )
        # The default is stored as empty, so a later improvement of it reaches this mailbox.
        if text.strip() and text.strip() != texts.default_acknowledgement(language).strip():
            templates[language] = text
    mailbox.auto_ack = auto_ack
    mailbox.auto_language = auto_language if auto_language in texts.LANGUAGES else "fr"
    mailbox.expected_reply_hours = expected_reply_hours or None
    mailbox.auto_portal_link = auto_portal_link
    mailbox.notify_closed = notify_closed
    mailbox.notify_answered = notify_answered
    mailbox.satisfaction = satisfaction
    mailbox.auto_templates_sealed = (
        seal_json(
            keys_for(mailbox.workspace),
            templates,
            field="mailbox.auto_templates",
            row=mailbox_row(mailbox.pk),
        )
        if templates
        else None
    )
    mailbox.save(
        update_fields=[
            "auto_ack",
            "auto_language",
            "expected_reply_hours",
            "auto_portal_link",
            "notify_closed",
            "notify_answered",
            "satisfaction",
            "auto_templates_sealed",
        ]
    )


# --- the rules -------------------------------------------------------------------------------


def own_addresses(workspace_id: int) -> set[str]:
    return {
        address.strip().lower()
        for address in Mailbox.objects.filter(workspace_id=workspace_id).values_list(
            "address", flat=True
        )
    }


def why_not_answer(message: Message, conversation: Conversation, sender: str) -> str:
    """Why nothing automatic may answer `message` ("" when something may)."""
    if message.no_autoreply_reason:
        return message.no_autoreply_reason
    if conversation.status == Status.SPAM:
        return SPAM
    if sender.strip().lower() in own_addresses(message.workspace_id):
        return OWN_ADDRESS
    return ""


def _recorded(
    *, mailbox: Mailbox, conversation: Conversation, kind: str, address: str
) -> AutomaticMail | None:
    """The AutomaticMail row, or None when one of its constraints says it was already sent."""
    keys = keys_for(mailbox.workspace)
    try:
        with transaction.atomic():  # a savepoint: the ingestion goes on whatever happens here
            return AutomaticMail.objects.create(
                workspace_id=mailbox.workspace_id,
                mailbox=mailbox,
                conversation=conversation,
                kind=kind,
                address_token=keys.search_token("automatic:" + address.strip().lower()),
                day=timezone.localdate(),
            )
    except IntegrityError:
        return None


def _send(
    *,
    mailbox: Mailbox,
    conversation: Conversation,
    message: Message,
    recipient: dict,
    kind: str,
    body: str,
) -> Outgoing | None:
    """Record, then queue an automatic reply to `message`; None when it may not be sent."""
    record = _recorded(
        mailbox=mailbox, conversation=conversation, kind=kind, address=recipient["address"]
    )
    if record is None:
        return None
    original = compose.original_of(keys_for(mailbox.workspace), message)
    outgoing = outgoing_create(
        mailbox=mailbox,
        conversation=conversation,
        author=None,
        kind=OutgoingKind.AUTO,
        to=[recipient],
        cc=[],
        subject=compose.reply_subject(original.subject),
        body=body,
        reply_to_message=message,
    )
    outgoing = outgoing_queue(outgoing=outgoing)
    record.outgoing = outgoing
    record.save(update_fields=["outgoing"])
    return outgoing


def _safely(what: str, function, **kwargs) -> Outgoing | None:
    """Automatic mail never breaks what set it off (an ingestion, a status change)."""
    try:
        with transaction.atomic():
            return function(**kwargs)
    except Exception as error:  # logged without content: names and addresses stay out of logs
        logger.warning("%s not sent (%s)", what, type(error).__name__)
        return None


# --- acknowledgements ----------------------------------------------------------------------


def mail_stored_acknowledge(sender, *, mailbox: Mailbox, arrivals: Arrivals, **kwargs) -> None:
    """The receiver of `mail_stored`: acknowledge each conversation a customer just opened."""
    if not mailbox.auto_ack:
        return
    started = {c.pk: c for c in arrivals.started}
    done: set[int] = set()
    for stored in arrivals.stored:
        message = stored.message
        conversation = started.get(message.conversation_id)
        if conversation is None or message.conversation_id in done:
            continue
        done.add(message.conversation_id)  # only the first message of a new conversation
        if message.direction != Direction.INBOUND or stored.headers.from_ is None:
            continue
        _safely(
            "acknowledgement",
            acknowledgement_send,
            mailbox=mailbox,
            conversation=conversation,
            message=message,
            name=stored.headers.from_.name,
            address=stored.headers.from_.address,
            language=stored.headers.auto.language,
        )


def acknowledgement_send(
    *,
    mailbox: Mailbox,
    conversation: Conversation,
    message: Message,
    name: str,
    address: str,
    language: str = "",
) -> Outgoing | None:
    """Acknowledge `message`, the first of `conversation`, unless a rule forbids it."""
    if not mailbox.auto_ack or conversation.status in (Status.CLOSED, Status.SPAM):
        return None  # history arrives closed
    now = timezone.now()
    if message.received_at < max(now - FRESH_FOR, mailbox.created_at - timedelta(minutes=5)):
        return None  # mail from before the mailbox was connected, or found late
    if why_not_answer(message, conversation, address):
        return None
    language = texts.acknowledgement_language(mailbox, language)
    # The business calendar (when the sla app provides it) says whether the team is there
    # and, with a reply-time goal, by when it will answer; else the mailbox's hours.
    reply_by = texts.expected_reply_by(mailbox, message.received_at)
    out_of_hours = texts.is_out_of_hours(mailbox, message.received_at)
    values = {
        "name": texts.safe_name(name),
        "reference": texts.reference(conversation),
        "expected_reply_time": (
            texts.reply_by_text(mailbox, reply_by, language)
            if reply_by
            else texts.expected_reply_time(mailbox, language)
        ),
        "portal_link": texts.portal_link(mailbox),
    }
    ack = texts.acknowledgement_texts(
        mailbox, reply_by_date=reply_by is not None, out_of_hours=out_of_hours
    )
    body = texts.render_text(ack[language], values)
    return _send(
        mailbox=mailbox,
        conversation=conversation,
        message=message,
        recipient={"name": values["name"], "address": address},
        kind=AutomaticKind.ACK,
        body=body,
    )


# --- notifications -------------------------------------------------------------------------


def _requester_message(conversation: Conversation) -> Message | None:
    """The latest message of the person who opened the conversation: what a notification
    answers. Someone who joined it later (an outsider writing "Re: …" with the customer in Cc)
    never gets its notifications or its rating links."""
    inbound = list(
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
        .select_related("mailbox__workspace")
        .order_by("received_at", "id")
    )
    if not inbound:
        return None
    keys = keys_for(conversation.mailbox.workspace)

    def sender(message: Message) -> str:
        return ((compose.original_of(keys, message).from_ or {}).get("address") or "").lower()

    opener = sender(inbound[0])
    return next((m for m in reversed(inbound[1:]) if sender(m) == opener), inbound[0])


def _notify(*, conversation: Conversation, kind: str, template: str, satisfaction: bool):
    mailbox = conversation.mailbox
    message = _requester_message(conversation)
    if message is None:
        return None
    original = compose.original_of(keys_for(mailbox.workspace), message)
    sender = original.from_ or {}
    address = (sender.get("address") or "").strip().lower()
    if not address or why_not_answer(message, conversation, address):
        return None
    language = mailbox.auto_language or "fr"
    links = satisfaction_request_create(conversation=conversation) if satisfaction else None
    with translation.override(language):
        body = render_to_string(
            template,
            {
                "name": texts.safe_name(sender.get("name") or ""),
                "reference": texts.reference(conversation),
                "portal_link": texts.portal_link(mailbox),
                "links": links,
            },
        )
    return _send(
        mailbox=mailbox,
        conversation=conversation,
        message=message,
        recipient={"name": texts.safe_name(sender.get("name") or ""), "address": address},
        kind=kind,
        body=body,
    )


def requester_notify_closed(*, conversation: Conversation) -> Outgoing | None:
    """Tell the requester their conversation is closed (and ask for a rating), when the
    mailbox says so. Called by the status change; never raises."""
    mailbox = conversation.mailbox
    if not (mailbox.notify_closed or mailbox.satisfaction):
        return None
    return _safely(
        "closing notification",
        _notify,
        conversation=conversation,
        kind=AutomaticKind.CLOSED,
        template="inbox/automatic/closed.txt",
        satisfaction=mailbox.satisfaction,
    )


def outgoing_sent_notify(sender, *, outgoing: Outgoing, **kwargs) -> None:
    """The team's reply left (inbox.mail.signals.outgoing_sent): tell the requester, when the
    mailbox asks for it. Never for our own automatic mail, a forward or a new message."""
    if outgoing.kind in (OutgoingKind.REPLY, OutgoingKind.REPLY_ALL) and outgoing.conversation_id:
        requester_notify_answered(conversation=outgoing.conversation)


def requester_notify_answered(*, conversation: Conversation) -> Outgoing | None:
    """Tell the requester their conversation was answered and waits for them on the portal,
    when the mailbox says so (once a day at most); never raises."""
    if not conversation.mailbox.notify_answered:
        return None
    return _safely(
        "answer notification",
        _notify,
        conversation=conversation,
        kind=AutomaticKind.ANSWERED,
        template="inbox/automatic/answered.txt",
        satisfaction=False,
    )
