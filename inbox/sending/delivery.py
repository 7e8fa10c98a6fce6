"""Delivery: a worker claims a queued outgoing and makes one attempt over SMTP.

A refusal before DATA left nothing (a 4xx is retried after a backoff, anything else fails);
a break during DATA is ambiguous and fails with `interrupted_message`; a 250 marks the
outgoing sent before anything else can fail, and only then is the copy filed in Sent.
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from inbox.imap import MailServerError, describe, smtp_connect, smtp_settings
from inbox.mailboxes import mailbox_credentials
from inbox.models import Mailbox, Outgoing, Provider, SendState
from inbox.sealing import outgoing_row
from inbox.sending.drafts import _language, outgoing_content, read_only_message
from inbox.sending.filing import _file_in_sent
from inbox.tasks import send_outgoing
from trupeo.storage import read_sealed

# One logger for the package, under the name it has always had.
logger = logging.getLogger("inbox.sending")

LEASE = timedelta(minutes=5)
# Waits after a temporary (4xx) refusal; one more 4xx after the last one and it fails.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
MAX_REASON = 300


def interrupted_message() -> str:
    return _(
        "Sending was interrupted; it may or may not have left. Check with the recipient "
        "before sending again."
    )


# --- send ------------------------------------------------------------------------------------


class _Refused(Exception):
    """The server refused before accepting the message: nothing left."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


class _Interrupted(Exception):
    """The connection broke while the message itself was being transferred."""


@dataclass(frozen=True)
class _Delivery:
    refused: dict[str, str]  # recipients the server refused while accepting the others


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
            updated_at=now,
        )
    )
    if not claimed:
        return None  # sent, sending elsewhere, failed, not due yet, or deleted
    outgoing = Outgoing.objects.select_related("mailbox__workspace", "author").get(pk=outgoing_id)
    with translation.override(_language(outgoing.author)):
        if outgoing.mailbox.workspace.is_read_only:
            # Queued before billing lapsed: not sent, kept; Retry sends it once renewed.
            return _fail(outgoing, read_only_message())
        return _send_claimed(outgoing)


def _send_claimed(outgoing: Outgoing) -> str:
    mailbox = outgoing.mailbox
    keys = keys_for(mailbox.workspace)
    row = outgoing_row(outgoing.pk)
    try:
        raw = read_sealed(outgoing.raw_object, keys, field="outgoing.raw", row=row)
        content = outgoing_content(outgoing, keys)
        recipients = [a["address"] for a in (*content["to"], *content["cc"], *content["bcc"])]
        sent_key = None
        if mailbox.provider == Provider.IMAP:
            delivery = _deliver(mailbox, raw, recipients)
        else:  # Gmail / Microsoft 365: through their API (inbox.providers.sending)
            from inbox.providers.sending import api_deliver

            delivery, sent_key = api_deliver(outgoing, raw)
    except _Refused as refusal:
        if refusal.temporary:
            return _defer(outgoing, str(refusal))
        return _fail(outgoing, str(refusal))
    except _Interrupted as error:
        return _fail(outgoing, f"{interrupted_message()} ({error})")
    except Exception as error:
        # Our own side broke (storage, keys, a bug) before anything was handed to the server.
        logger.exception(
            "outgoing %s: could not be prepared (%s)", outgoing.pk, type(error).__name__
        )
        return _fail(outgoing, _("The message could not be prepared for sending."))
    note = ""
    if delivery.refused:
        note = _("Not delivered to %(addresses)s: %(reason)s") % {
            "addresses": ", ".join(sorted(delivery.refused)),
            "reason": next(iter(delivery.refused.values())),
        }
    _mark_sent(outgoing, note=note)
    logger.info("outgoing %s sent (attempt %s)", outgoing.pk, outgoing.attempts)
    if sent_key is None:
        _file_in_sent(outgoing, raw, content["message_id"], search_first=False)
    else:  # the provider named its copy (Gmail): filed under that id, known to the sync
        _link_sent_copy(outgoing, raw, sent_key)
    return SendState.SENT


def _link_sent_copy(outgoing: Outgoing, raw: bytes, provider_key: str) -> None:
    from inbox.models import FolderRole, MailboxFolder
    from inbox.sending.filing import _link

    folder = MailboxFolder.objects.filter(mailbox=outgoing.mailbox, role=FolderRole.SENT).first()
    _link(outgoing, folder, provider_key, raw, outgoing.sent_at or timezone.now())


def _mark_sent(outgoing: Outgoing, *, note: str = "", sent_at: datetime | None = None) -> None:
    """Record that the server accepted it: the first thing done after the 250."""
    now = timezone.now()
    sent_at = sent_at or now
    # Also over a `failed` left by a recovery that gave up on a very slow send: it did leave.
    Outgoing.objects.filter(pk=outgoing.pk, state__in=[SendState.SENDING, SendState.FAILED]).update(
        state=SendState.SENT,
        sent_at=sent_at,
        # Held while the copy is filed; a filing left unfinished is resumed by the recovery.
        lease_until=now + LEASE,
        last_error=note[:2000],
        updated_at=now,
    )
    outgoing.state, outgoing.sent_at, outgoing.last_error = SendState.SENT, sent_at, note
    outgoing.lease_until = now + LEASE


def _defer(outgoing: Outgoing, reason: str) -> str:
    if outgoing.attempts > len(RETRY_DELAYS):
        return _fail(
            outgoing,
            _("%(reason)s (gave up after %(count)d attempts)")
            % {"reason": reason, "count": outgoing.attempts},
        )
    delay = RETRY_DELAYS[max(outgoing.attempts - 1, 0)]
    now = timezone.now()
    Outgoing.objects.filter(pk=outgoing.pk, state=SendState.SENDING).update(
        state=SendState.QUEUED, lease_until=now + delay, last_error=reason[:2000], updated_at=now
    )
    logger.info("outgoing %s: temporary refusal, retry in %s", outgoing.pk, delay)
    pk = outgoing.pk
    transaction.on_commit(
        lambda: send_outgoing.apply_async((pk,), countdown=int(delay.total_seconds()))
    )
    outgoing.state, outgoing.last_error, outgoing.lease_until = (
        SendState.QUEUED,
        reason,
        now + delay,
    )
    return SendState.QUEUED


def _fail(outgoing: Outgoing, reason: str) -> str:
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


def _refusal(host: str, code: int, reply: bytes | str) -> _Refused:
    temporary = 400 <= code < 500
    if temporary:
        reason = _(
            "The SMTP server %(host)s asked to try again later (%(code)s %(reply)s). "
            "Trupeo will retry."
        )
    else:
        reason = _("The SMTP server %(host)s refused the message (%(code)s %(reply)s).")
    return _Refused(
        reason % {"host": host, "code": code, "reply": _reply_text(reply)}, temporary=temporary
    )


def _deliver(mailbox: Mailbox, raw: bytes, recipients: list[str]) -> _Delivery:
    """smtplib's sendmail, step by step, so that a break during DATA is told apart from a
    refusal before it (nothing left) — the first is ambiguous, the second is not."""
    if not mailbox.smtp_host:
        raise _Refused(_("This mailbox has no SMTP server to send with."), temporary=False)
    server = smtp_settings(mailbox, mailbox_credentials(mailbox))
    try:
        smtp = smtp_connect(server)
    except MailServerError as error:
        cause = error.__cause__
        if isinstance(cause, smtplib.SMTPResponseException) and 400 <= cause.smtp_code < 500:
            raise _Refused(str(error), temporary=True) from error
        raise _Refused(str(error), temporary=False) from error
    try:
        try:
            smtp.ehlo_or_helo_if_needed()
            options = []
            if smtp.has_extn("size"):
                options.append(f"size={len(raw)}")
            if smtp.has_extn("8bitmime") and not raw.isascii():
                options.append("body=8bitmime")
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
                raise _Refused(
                    _("The SMTP server %(host)s refused the recipients %(addresses)s (%(reply)s).")
                    % {
                        "host": server.host,
                        "addresses": ", ".join(refused),
                        "reply": f"{code} {_reply_text(reply)}",
                    },
                    temporary=temporary,
                )
            code, reply = smtp.docmd("data")
            if code != 354:
                raise _refusal(server.host, code, reply)
        except _Refused:
            raise
        except smtplib.SMTPResponseException as error:
            raise _refusal(server.host, error.smtp_code, error.smtp_error) from error
        except Exception as error:  # the connection broke before the message was sent
            raise _Refused(
                describe(error, host=server.host, protocol="SMTP"), temporary=False
            ) from error
        # From here the server may have the message: a break is ambiguous, never "not sent".
        try:
            smtp.send(_dot_stuffed(raw))
            code, reply = smtp.getreply()
        except Exception as error:
            raise _Interrupted(describe(error, host=server.host, protocol="SMTP")) from error
        if code != 250:
            raise _refusal(server.host, code, reply)
        return _Delivery(refused={a: f"{c} {_reply_text(r)}" for a, (c, r) in refused.items()})
    finally:
        try:
            smtp.quit()
        except Exception:
            smtp.close()


def _dot_stuffed(raw: bytes) -> bytes:
    """The DATA payload exactly as smtplib's `data()` sends bytes."""
    stuffed = re.sub(rb"(?m)^\.", b"..", raw)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"
