"""Delivery: a worker claims a queued outgoing and makes one attempt over SMTP.

A refusal before DATA left nothing (a 4xx is retried after a backoff, anything else fails);
a break during DATA is ambiguous and fails with `interrupted_message`; a 250 marks the
outgoing sent before anything else can fail, and only then is the copy filed in Sent.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from inbox.mail.addresses import envelope_address, is_international
from inbox.mail.imap import MailServerError, describe, smtp_connect, smtp_settings
from inbox.mail.mailboxes import mailbox_credentials
from inbox.mail.sealing import outgoing_row
from inbox.mail.sending.drafts import (
    author_language,
    outgoing_content,
    outgoing_drop_file_copies,
    read_only_message,
)
from inbox.mail.sending.filing import file_in_sent
from inbox.mail.sending.outcomes import Delivery, Interrupted, Refused
from inbox.mail.sending.reasons import refusal_in_words
from inbox.mail.signals import outgoing_sent
from inbox.models import Mailbox, Outgoing, Provider, SendState
from inbox.tasks import send_outgoing
from trupeo.storage import read_sealed

# One logger for the package, under the name it has always had.
logger = logging.getLogger("inbox.mail.sending")

LEASE = timedelta(minutes=5)
# Waits after a transient failure (server down, timeout, 4xx, a provider's 429 / 5xx): these,
# then every RETRY_EVERY, for RETRY_WINDOW from the first attempt; then it fails.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
RETRY_EVERY = timedelta(hours=1)
RETRY_WINDOW = timedelta(hours=24)
MAX_REASON = 300


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th attempt failed for a transient reason."""
    return RETRY_DELAYS[attempts - 1] if 1 <= attempts <= len(RETRY_DELAYS) else RETRY_EVERY


def interrupted_message() -> str:
    return _(
        "Sending was interrupted; it may or may not have left. Check with the recipient "
        "before sending again."
    )


# --- send ------------------------------------------------------------------------------------


def outgoing_send(*, outgoing_id: int) -> str | None:
    """One attempt to send; returns the state it left the outgoing in (None: not claimed)."""
    now = timezone.now()
    claimed = (
        Outgoing.objects.filter(pk=outgoing_id, state=SendState.QUEUED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(
            state=SendState.SENDING,
            lease_until=now + LEASE,
            attempts=F("attempts") + 1,
            first_attempt_at=Coalesce(F("first_attempt_at"), Value(now)),
            updated_at=now,
        )
    )
    if not claimed:
        return None  # sent, sending elsewhere, failed, not due yet, or deleted
    outgoing = Outgoing.objects.select_related("mailbox__workspace", "author").get(pk=outgoing_id)
    with translation.override(author_language(outgoing.author)):
        if outgoing.mailbox.workspace.is_read_only:
            # Queued before billing lapsed: not sent, kept; Retry sends it once renewed.
            return mark_failed(outgoing, read_only_message())
        return _send_claimed(outgoing)


def _send_claimed(outgoing: Outgoing) -> str:
    mailbox = outgoing.mailbox
    keys = keys_for(mailbox.workspace)
    row = outgoing_row(outgoing.pk)
    try:
        raw = read_sealed(outgoing.raw_object, keys, field="outgoing.raw", row=row)
        content = outgoing_content(outgoing, keys)
        if outgoing.attempts == 1:  # claimed: a held message's files are no longer needed
            outgoing_drop_file_copies(outgoing, content)
        recipients = [a["address"] for a in (*content["to"], *content["cc"], *content["bcc"])]
        sent_key = None
        checkable = mailbox.provider != Provider.IMAP  # only an API send can be ambiguous
        if checkable and outgoing.check_sent_first and _found_in_sent(outgoing, raw, content):
            return SendState.SENT  # the ambiguous attempt had been taken: not sent again
        if mailbox.provider == Provider.IMAP:
            delivery = _deliver(mailbox, raw, recipients)
        else:  # Gmail / Microsoft 365: through their API (inbox.mail.providers.sending)
            from inbox.mail.providers.sending import api_deliver

            delivery, sent_key = api_deliver(outgoing, raw)
    except Refused as refusal:
        if refusal.temporary:
            return _defer(outgoing, str(refusal))
        return mark_failed(outgoing, str(refusal))
    except Interrupted as error:
        if error.checkable:
            return _defer(outgoing, str(error), check_sent=True)
        return mark_failed(outgoing, f"{interrupted_message()} ({error})")
    except Exception as error:
        # Our own side broke (storage, keys, a bug) before anything was handed to the server.
        logger.exception(
            "outgoing %s: could not be prepared (%s)", outgoing.pk, type(error).__name__
        )
        return mark_failed(outgoing, _("The message could not be prepared for sending."))
    note = ""
    if delivery.refused:
        note = _("Not delivered to %(addresses)s: %(reason)s") % {
            "addresses": ", ".join(sorted(delivery.refused)),
            "reason": next(iter(delivery.refused.values())),
        }
    mark_sent(outgoing, note=note)
    logger.info("outgoing %s sent (attempt %s)", outgoing.pk, outgoing.attempts)
    if sent_key is None:
        file_in_sent(outgoing, raw, content["message_id"], search_first=False)
    else:  # the provider named its copy (Gmail): filed under that id, known to the sync
        _link_sent_copy(outgoing, raw, sent_key)
    return SendState.SENT


def _link_sent_copy(outgoing: Outgoing, raw: bytes, provider_key: str) -> None:
    from inbox.mail.sending.filing import link_outgoing
    from inbox.models import FolderRole, MailboxFolder

    folder = MailboxFolder.objects.filter(mailbox=outgoing.mailbox, role=FolderRole.SENT).first()
    link_outgoing(outgoing, folder, provider_key, raw, outgoing.sent_at or timezone.now())


def mark_sent(outgoing: Outgoing, *, note: str = "", sent_at: datetime | None = None) -> None:
    """Record that the server accepted it: the first thing done after the 250."""
    now = timezone.now()
    sent_at = sent_at or now
    # Also over a `failed` left by a recovery that gave up on a very slow send: it did leave.
    with transaction.atomic():
        changed = Outgoing.objects.filter(
            pk=outgoing.pk, state__in=[SendState.SENDING, SendState.FAILED]
        ).update(
            state=SendState.SENT,
            sent_at=sent_at,
            # Held while the copy is filed; a filing left unfinished is resumed by the recovery.
            lease_until=now + LEASE,
            last_error=note[:2000],
            updated_at=now,
        )
        outgoing.state, outgoing.sent_at, outgoing.last_error = SendState.SENT, sent_at, note
        outgoing.lease_until = now + LEASE
        if changed:
            outgoing_sent.send(sender=Outgoing, outgoing=outgoing)


def _found_in_sent(outgoing: Outgoing, raw: bytes, content: dict) -> bool:
    """After an ambiguous API attempt: the provider's Sent holds it → marked sent and linked.

    Raises `Refused` (transient) when Sent cannot be searched: sending blind could send twice.
    """
    from inbox.mail.providers.sending import api_find_sent

    try:
        found = api_find_sent(
            outgoing.mailbox, content.get("message_id", ""), token=outgoing.message_id_token
        )
    except Exception as error:
        logger.warning("outgoing %s: Sent not searchable (%s)", outgoing.pk, type(error).__name__)
        raise Refused(
            _("The provider could not be asked whether the message already left."),
            temporary=True,
        ) from error
    if found is None:
        return False
    mark_sent(outgoing, sent_at=found.internal_date)
    _link_sent_copy(outgoing, found.raw or raw, found.provider_key)
    logger.info("outgoing %s found in Sent after an ambiguous attempt", outgoing.pk)
    return True


def _defer(outgoing: Outgoing, reason: str, *, check_sent: bool = False) -> str:
    """A transient failure: queued again for the next try of the schedule, or failed once the
    day from the first attempt is over."""
    now = timezone.now()
    first = outgoing.first_attempt_at or now
    due = now + retry_delay(outgoing.attempts)
    if due > first + RETRY_WINDOW:
        gave_up = _("Trupeo tried %(count)d times over 24 hours and gave up.") % {
            "count": outgoing.attempts
        }
        if check_sent or outgoing.check_sent_first:
            return mark_failed(outgoing, f"{interrupted_message()} {reason} {gave_up}")
        return mark_failed(outgoing, f"{reason} {gave_up}")
    Outgoing.objects.filter(pk=outgoing.pk, state=SendState.SENDING).update(
        state=SendState.QUEUED,
        lease_until=due,
        last_error=reason[:2000],
        # Once an attempt may have been taken, every later one looks first (a copy can be slow
        # to appear in Sent).
        check_sent_first=True if check_sent else F("check_sent_first"),
        updated_at=now,
    )
    logger.info("outgoing %s: transient failure, next attempt at %s", outgoing.pk, due)
    pk, countdown = outgoing.pk, int((due - now).total_seconds())
    # The countdown is the punctual path; the beat sweep (`outgoing_recover_stuck`) queues it
    # again if this broker message is lost.
    transaction.on_commit(lambda: send_outgoing.apply_async((pk,), countdown=countdown))
    outgoing.state, outgoing.last_error, outgoing.lease_until = SendState.QUEUED, reason, due
    return SendState.QUEUED


def mark_failed(outgoing: Outgoing, reason: str) -> str:
    now = timezone.now()
    Outgoing.objects.filter(pk=outgoing.pk, state=SendState.SENDING).update(
        state=SendState.FAILED, lease_until=None, last_error=reason[:2000], updated_at=now
    )
    logger.info("outgoing %s: not sent", outgoing.pk)
    outgoing.state, outgoing.last_error, outgoing.lease_until = SendState.FAILED, reason, None
    return SendState.FAILED


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:MAX_REASON]


def _refusal(host: str, code: int, reply: bytes | str) -> Refused:
    temporary = 400 <= code < 500
    text = _reply_text(reply)
    if temporary:
        reason = _("The SMTP server %(host)s asked to try again later (%(code)s %(reply)s).")
    else:
        reason = _("The SMTP server %(host)s refused the message: %(why)s (%(code)s %(reply)s).")
    values = {"host": host, "code": code, "reply": text, "why": refusal_in_words(code, text)}
    return Refused(reason % values, temporary=temporary)


def _deliver(mailbox: Mailbox, raw: bytes, recipients: list[str]) -> Delivery:
    """smtplib's sendmail, step by step, so that a break during DATA is told apart from a
    refusal before it (nothing left) — the first is ambiguous, the second is not."""
    if not mailbox.smtp_host:
        raise Refused(_("This mailbox has no SMTP server to send with."), temporary=False)
    server = smtp_settings(mailbox, mailbox_credentials(mailbox))
    try:
        smtp = smtp_connect(server)
    except MailServerError as error:
        raise Refused(str(error), temporary=is_transient(error.__cause__)) from error
    try:
        try:
            smtp.ehlo_or_helo_if_needed()
            options = []
            if smtp.has_extn("size"):
                options.append(f"size={len(raw)}")
            if smtp.has_extn("8bitmime") and not raw.isascii():
                options.append("body=8bitmime")
            options += smtputf8_options(smtp, server.host, raw, recipients)
            recipients = [envelope_address(a) for a in recipients]
            code, reply = smtp.mail(mailbox.address, options)
            if code != 250:
                raise _refusal(server.host, code, reply)
            refused: dict[str, tuple[int, bytes]] = {}
            for address in recipients:
                code, reply = smtp.rcpt(address)
                if code not in (250, 251):
                    refused[address] = (code, reply)
            if len(refused) == len(recipients):
                code, reply = next(iter(refused.values()))
                temporary = all(400 <= c < 500 for c, _r in refused.values())
                values = {
                    "host": server.host,
                    "addresses": ", ".join(refused),
                    "reply": f"{code} {_reply_text(reply)}",
                }
                if temporary:
                    reason = _(
                        "The SMTP server %(host)s asked to try the recipients %(addresses)s "
                        "again later (%(reply)s)."
                    )
                else:
                    values["why"] = refusal_in_words(code, _reply_text(reply))
                    reason = _(
                        "The SMTP server %(host)s refused the recipients %(addresses)s: "
                        "%(why)s (%(reply)s)."
                    )
                raise Refused(reason % values, temporary=temporary)
            code, reply = smtp.docmd("data")
            if code != 354:
                raise _refusal(server.host, code, reply)
        except Refused:
            raise
        except smtplib.SMTPResponseException as error:
            raise _refusal(server.host, error.smtp_code, error.smtp_error) from error
        except Exception as error:  # the connection broke before the message was sent
            raise Refused(
                describe(error, host=server.host, protocol="SMTP"), temporary=is_transient(error)
            ) from error
        # From here the server may have the message: a break is ambiguous, never "not sent".
        try:
            smtp.send(_dot_stuffed(raw))
            code, reply = smtp.getreply()
        except Exception as error:
            raise Interrupted(describe(error, host=server.host, protocol="SMTP")) from error
        if code != 250:
            raise _refusal(server.host, code, reply)
        return Delivery(refused={a: f"{c} {_reply_text(r)}" for a, (c, r) in refused.items()})
    finally:
        try:
            smtp.quit()
        except Exception:
            smtp.close()


def is_transient(error: BaseException | None) -> bool:
    """Whether a failure before the server had the message is worth trying again later: the
    server down, slow or busy (refused connection, timeout, dropped connection, a 4xx, a
    DNS server that could not answer). A 5xx, a refused login, a bad certificate, an unknown
    host or our own error is not: retrying would fail the same way."""
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, ssl.SSLError):
        return False
    if isinstance(error, socket.gaierror):
        return error.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def smtputf8_options(smtp: smtplib.SMTP, host: str, raw: bytes, recipients: list[str]) -> list[str]:
    """["SMTPUTF8"] for an internationalised message (UTF-8 headers, or an address whose local
    part is not ASCII), which only a server offering SMTPUTF8 may take; [] otherwise."""
    headers = raw.partition(b"\r\n\r\n")[0]
    if headers.isascii() and not any(is_international(a) for a in recipients):
        return []
    if not smtp.has_extn("smtputf8"):
        raise Refused(
            _(
                "The SMTP server %(host)s does not accept addresses written with accents or "
                "non-Latin letters (SMTPUTF8): %(addresses)s cannot be reached from this mailbox."
            )
            % {"host": host, "addresses": ", ".join(a for a in recipients if is_international(a))},
            temporary=False,
        )
    smtp.command_encoding = "utf-8"  # as smtplib's sendmail does for SMTPUTF8
    return ["SMTPUTF8"]


def _dot_stuffed(raw: bytes) -> bytes:
    """The DATA payload exactly as smtplib's `data()` sends bytes."""
    stuffed = re.sub(rb"(?m)^\.", b"..", raw)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"
