"""Sending from a shared address: the outgoing state machine.

    draft   ─queue─▶ queued ─claim─▶ sending ─SMTP 250─▶ sent ─▶ copy in Sent, linked
    sending ─4xx─▶ queued, with a backoff (failed once RETRY_DELAYS are spent)
    sending ─refused before DATA (auth, 5xx, unreachable)─▶ failed
    sending ─connection broken during DATA─▶ failed ("it may or may not have left")
    sending, lease expired (the worker died) ─recovery─▶ sent if found in Sent, else failed
    failed  ─a person's Retry─▶ queued

* The MIME is composed once, when the outgoing is queued, and sealed to object storage: every
  attempt sends the same bytes under the same Message-ID.
* A worker claims an outgoing with one conditional UPDATE (queued → sending, a 5-minute lease,
  attempts + 1): two workers never both send it. A queued outgoing's `lease_until`, while set,
  is the time before which no worker may claim it (the backoff after a 4xx).
* The outgoing is marked sent as soon as the server accepts the DATA, before anything else can
  fail; only then is the copy appended to Sent (its APPENDUID becomes the provider key, so the
  Sent-folder sync recognises it) and ingested into the conversation.
* An outgoing left in `sending` past its lease (the worker died mid-send) is never sent again
  blindly: the Sent folder is searched for its Message-ID; found, it is sent; otherwise it
  fails with a sentence asking the person to check with the recipient, and only a person's
  Retry sends it again.

Never logged: content, addresses, server replies (they may quote addresses) and passwords.
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from imapclient.exceptions import IMAPClientError

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox import compose
from inbox.imap import (
    MailServerError,
    describe,
    imap_connect,
    imap_settings,
    smtp_connect,
    smtp_settings,
)
from inbox.ingest import RawMail, ingest_batch
from inbox.mailboxes import folder_name, mailbox_credentials
from inbox.models import (
    Conversation,
    FolderRole,
    Mailbox,
    MailboxFolder,
    Message,
    Outgoing,
    OutgoingKind,
    SendState,
)
from inbox.sealing import open_json, seal_json
from inbox.tasks import send_outgoing
from inbox.threading import message_id_token
from trupeo.crypto import WorkspaceKeys
from trupeo.storage import put_sealed, read_sealed

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# Waits after a temporary (4xx) refusal; one more 4xx after the last one and it fails.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
# A queued outgoing whose task has not claimed it this long after it was due is queued again
# by `outgoing_recover_stuck` (a lost broker message must not lose a reply).
REQUEUE_AFTER = timedelta(minutes=2)
MAX_REASON = 300
SEEN = b"\\Seen"
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.I)


def interrupted_message() -> str:
    return _(
        "Sending was interrupted; it may or may not have left. Check with the recipient "
        "before sending again."
    )


class OutgoingStateError(Exception):
    """The outgoing is not in a state that allows this (a sentence, `str(error)`)."""


def outgoing_row(outgoing_id: int) -> str:
    return f"outgoing:{outgoing_id}"


# --- drafts ----------------------------------------------------------------------------------


def outgoing_content(outgoing: Outgoing, keys: WorkspaceKeys | None = None) -> dict:
    """The sealed content: to, cc, bcc, subject, body, signature, kind, reply_to_message_id,
    and once queued message_id, in_reply_to, references."""
    if not outgoing.content_sealed:
        return {}
    return open_json(
        keys or keys_for(outgoing.workspace),
        outgoing.content_sealed,
        field="outgoing.content",
        row=outgoing_row(outgoing.pk),
    )


def reply_defaults(*, mailbox: Mailbox, message: Message, kind: str) -> dict:
    """What a composer pre-fills for a reply, reply-all or forward of `message`."""
    _check_message(mailbox, message)
    original = compose.original_of(keys_for(mailbox.workspace), message)
    if kind == OutgoingKind.FORWARD:
        return {"to": [], "cc": [], "subject": compose.forward_subject(original.subject)}
    to, cc = compose.reply_recipients(
        original, mailbox_address=mailbox.address, reply_all=kind == OutgoingKind.REPLY_ALL
    )
    return {"to": to, "cc": cc, "subject": compose.reply_subject(original.subject)}


def outgoing_create(
    *,
    mailbox: Mailbox,
    conversation: Conversation | None,
    author: User | None,
    kind: str,
    to=None,
    cc=None,
    bcc=None,
    subject: str | None = None,
    body: str = "",
    reply_to_message: Message | None = None,
    signature: str = "",
) -> Outgoing:
    """A draft, its content sealed under row "outgoing:<pk>".

    For a reply or reply-all, recipients and subject left as None come from the answered
    message; `[]` / `""` mean "none". Raises ValidationError (in words) for bad addresses or a
    message without recipients, ValueError for objects that do not belong together.
    """
    if kind not in OutgoingKind.values:
        raise ValueError(f"unknown outgoing kind {kind!r}")
    if kind != OutgoingKind.NEW and reply_to_message is None:
        raise ValueError(f"a {kind} needs the message it answers")
    if reply_to_message is not None:
        _check_message(mailbox, reply_to_message)
        if conversation is None:
            conversation = reply_to_message.conversation
        elif reply_to_message.conversation_id != conversation.pk:
            raise ValueError("the answered message is not in this conversation")
    if conversation is not None and (
        conversation.workspace_id != mailbox.workspace_id or conversation.mailbox_id != mailbox.pk
    ):
        raise ValueError("the conversation does not belong to this mailbox")
    if (
        author is not None
        and not Membership.objects.filter(workspace_id=mailbox.workspace_id, user=author).exists()
    ):
        raise ValueError("the author is not a member of this workspace")

    if reply_to_message is not None and (to is None or subject is None or cc is None):
        defaults = reply_defaults(mailbox=mailbox, message=reply_to_message, kind=kind)
        to = defaults["to"] if to is None else to
        cc = defaults["cc"] if cc is None else cc
        subject = defaults["subject"] if subject is None else subject
    content = _content_fields(to=to, cc=cc, bcc=bcc, subject=subject, body=body)
    content.update(
        kind=kind,
        signature=signature or "",
        reply_to_message_id=reply_to_message.pk if reply_to_message else None,
    )
    with transaction.atomic():
        outgoing = Outgoing.objects.create(
            workspace_id=mailbox.workspace_id,
            mailbox=mailbox,
            conversation=conversation,
            author=author,
            kind=kind,
            state=SendState.DRAFT,
        )
        _seal_content(outgoing, content)
        outgoing.save(update_fields=["content_sealed"])
    return outgoing


def outgoing_update(
    *,
    outgoing: Outgoing,
    to=None,
    cc=None,
    bcc=None,
    subject: str | None = None,
    body: str | None = None,
    signature: str | None = None,
) -> Outgoing:
    """Change a draft (None leaves a value as it is)."""
    with transaction.atomic():
        locked = Outgoing.objects.select_for_update().get(pk=outgoing.pk)
        if locked.state != SendState.DRAFT:
            raise OutgoingStateError(_("This message has already been sent or queued."))
        content = outgoing_content(locked)
        changes = _content_fields(
            to=content["to"] if to is None else to,
            cc=content["cc"] if cc is None else cc,
            bcc=content["bcc"] if bcc is None else bcc,
            subject=content["subject"] if subject is None else subject,
            body=content["body"] if body is None else body,
        )
        content.update(changes)
        if signature is not None:
            content["signature"] = signature
        _seal_content(locked, content)
        locked.save(update_fields=["content_sealed", "updated_at"])
    outgoing.content_sealed = locked.content_sealed
    return outgoing


def _content_fields(*, to, cc, bcc, subject, body) -> dict:
    to_list = compose.normalise_recipients(to)
    cc_list = compose.dedupe(
        compose.normalise_recipients(cc), exclude=[a["address"] for a in to_list]
    )
    bcc_list = compose.dedupe(
        compose.normalise_recipients(bcc),
        exclude=[a["address"] for a in (*to_list, *cc_list)],
    )
    return {
        "to": to_list,
        "cc": cc_list,
        "bcc": bcc_list,
        "subject": " ".join((subject or "").split()),
        "body": body or "",
    }


def _seal_content(outgoing: Outgoing, content: dict) -> None:
    outgoing.content_sealed = seal_json(
        keys_for(outgoing.workspace),
        content,
        field="outgoing.content",
        row=outgoing_row(outgoing.pk),
    )


def _check_message(mailbox: Mailbox, message: Message) -> None:
    if message.mailbox_id != mailbox.pk or message.workspace_id != mailbox.workspace_id:
        raise ValueError("the answered message does not belong to this mailbox")


# --- queue -----------------------------------------------------------------------------------


def outgoing_queue(*, outgoing: Outgoing) -> Outgoing:
    """Compose the MIME once, seal it to storage, and hand the outgoing to a worker."""
    with transaction.atomic():
        locked = (
            Outgoing.objects.select_for_update(of=("self",))
            .select_related("mailbox__workspace", "author")
            .get(pk=outgoing.pk)
        )
        if locked.state != SendState.DRAFT:
            raise OutgoingStateError(_("This message has already been sent or queued."))
        mailbox = locked.mailbox
        keys = keys_for(mailbox.workspace)
        content = outgoing_content(locked, keys)
        if not (content["to"] or content["cc"] or content["bcc"]):
            raise ValidationError(_("Add at least one recipient."), code="no_recipient")
        original = None
        if content.get("reply_to_message_id"):
            message = Message.objects.filter(
                pk=content["reply_to_message_id"], mailbox=mailbox
            ).first()
            if message is not None:  # deleted since: sent without the quote and references
                original = compose.original_of(
                    keys, message, with_attachments=locked.kind == OutgoingKind.FORWARD
                )
        message_id = compose.new_message_id(mailbox.address)
        now = timezone.now()
        with translation.override(_language(locked.author)):
            mime = compose.compose_message(
                mailbox=mailbox,
                kind=locked.kind,
                to=content["to"],
                cc=content["cc"],
                subject=content["subject"],
                body=content["body"],
                signature=content.get("signature") or "",
                original=original,
                message_id=message_id,
                date=now,
            )
        raw = compose.as_bytes(mime)
        row = outgoing_row(locked.pk)
        locked.raw_object = put_sealed(keys, [raw], field="outgoing.raw", row=row)
        content.update(
            message_id=message_id,
            in_reply_to=mime.get("In-Reply-To", ""),
            references=(mime.get("References") or "").split(),
        )
        _seal_content(locked, content)
        locked.message_id_token = message_id_token(keys, message_id)
        locked.state = SendState.QUEUED
        locked.lease_until = None
        locked.last_error = ""
        locked.save()
        pk = locked.pk
        transaction.on_commit(lambda: send_outgoing.delay(pk))
    _refresh(outgoing, locked)
    return outgoing


def outgoing_retry(*, outgoing: Outgoing) -> Outgoing:
    """A person pressing Retry on a message that was not sent (or is waiting to be)."""
    with transaction.atomic():
        now = timezone.now()
        updated = Outgoing.objects.filter(
            pk=outgoing.pk, state__in=[SendState.FAILED, SendState.QUEUED]
        ).update(state=SendState.QUEUED, lease_until=None, attempts=0, updated_at=now)
        if not updated:
            raise OutgoingStateError(_("Only a message that was not sent can be sent again."))
        pk = outgoing.pk
        transaction.on_commit(lambda: send_outgoing.delay(pk))
    outgoing.refresh_from_db()
    return outgoing


def _refresh(target: Outgoing, source: Outgoing) -> None:
    for name in (
        "state",
        "content_sealed",
        "message_id_token",
        "raw_object",
        "attempts",
        "last_error",
        "lease_until",
        "updated_at",
    ):
        setattr(target, name, getattr(source, name))


def _language(author: User | None) -> str:
    return (author.language if author is not None else "") or settings.LANGUAGE_CODE


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
        return _send_claimed(outgoing)


def _send_claimed(outgoing: Outgoing) -> str:
    mailbox = outgoing.mailbox
    keys = keys_for(mailbox.workspace)
    row = outgoing_row(outgoing.pk)
    try:
        raw = read_sealed(outgoing.raw_object, keys, field="outgoing.raw", row=row)
        content = outgoing_content(outgoing, keys)
        recipients = [a["address"] for a in (*content["to"], *content["cc"], *content["bcc"])]
        delivery = _deliver(mailbox, raw, recipients)
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
    _file_in_sent(outgoing, raw, content["message_id"], search_first=False)
    return SendState.SENT


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


# --- the copy in Sent --------------------------------------------------------------------------


def _file_in_sent(outgoing: Outgoing, raw: bytes, message_id: str, *, search_first: bool) -> None:
    """Put the sent message in the Sent folder (once) and into its conversation.

    Never raises: the message has left, and what remains is bookkeeping. Without an IMAP
    copy (server down, no Sent folder) it is ingested under "sent:<pk>", so the conversation
    still shows it, and `last_error` says that the copy is missing.
    """
    mailbox = outgoing.mailbox
    folder = MailboxFolder.objects.filter(mailbox=mailbox, role=FolderRole.SENT).first()
    provider_key = f"sent:{outgoing.pk}"
    stored_raw, received_at, note = raw, outgoing.sent_at or timezone.now(), ""
    if folder is not None and mailbox.imap_host:
        try:
            found = _sent_copy(
                mailbox, folder, raw, message_id, sent_at=received_at, search_first=search_first
            )
        except Exception as error:
            note = _("Sent, but no copy could be saved in the Sent folder: %(reason)s") % {
                "reason": describe(error, host=mailbox.imap_host, protocol="IMAP")
            }
            logger.warning("outgoing %s: Sent copy failed (%s)", outgoing.pk, type(error).__name__)
        else:
            if found is not None:
                provider_key, stored_raw = found.provider_key, found.raw or raw
                received_at = found.internal_date or received_at
    _link(outgoing, folder, provider_key, stored_raw, received_at, note=note)


@dataclass(frozen=True)
class _SentCopy:
    provider_key: str
    raw: bytes | None = None  # the server's bytes, when we fetched them
    internal_date: datetime | None = None


def _sent_copy(
    mailbox: Mailbox,
    folder: MailboxFolder,
    raw: bytes,
    message_id: str,
    *,
    sent_at: datetime,
    search_first: bool,
) -> _SentCopy | None:
    """APPEND to Sent with \\Seen and return the copy's provider key (APPENDUID, else found
    by Message-ID). With `search_first`, an existing copy is used instead of appending."""
    name = folder_name(folder, mailbox.workspace) or "Sent"
    client = imap_connect(imap_settings(mailbox, mailbox_credentials(mailbox)))
    try:
        if search_first:
            existing = _search(client, folder, name, message_id, fetch=True)
            if existing is not None:
                return existing
        try:
            response = client.append(name, raw, flags=[SEEN], msg_time=sent_at)
        except IMAPClientError as error:
            if "TRYCREATE" not in str(error).upper():
                raise
            client.create_folder(name)
            response = client.append(name, raw, flags=[SEEN], msg_time=sent_at)
        match = _APPENDUID.search(
            response if isinstance(response, bytes) else str(response).encode()
        )
        if match:
            uidvalidity, uid = int(match.group(1)), int(match.group(2))
            return _SentCopy(f"{folder.pk}:{uidvalidity}:{uid}")
        return _search(client, folder, name, message_id, fetch=False)  # no UIDPLUS
    finally:
        _logout(client)


def _logout(client) -> None:
    with contextlib.suppress(Exception):  # the work is done; a failed goodbye changes nothing
        client.logout()


def _search(client, folder: MailboxFolder, name: str, message_id: str, *, fetch: bool):
    selected = client.select_folder(name, readonly=True)
    uidvalidity = int(selected[b"UIDVALIDITY"])
    uids = sorted(client.search(["HEADER", "Message-ID", message_id.strip()]))
    if not uids:
        return None
    uid = uids[0]
    key = f"{folder.pk}:{uidvalidity}:{uid}"
    if not fetch:
        return _SentCopy(key)
    data = client.fetch([uid], [b"RFC822", b"INTERNALDATE"]).get(uid, {})
    internal = data.get(b"INTERNALDATE")
    if isinstance(internal, datetime) and timezone.is_naive(internal):
        internal = timezone.make_aware(internal)
    return _SentCopy(key, raw=data.get(b"RFC822"), internal_date=internal)


def _link(
    outgoing: Outgoing,
    folder: MailboxFolder | None,
    provider_key: str,
    raw: bytes,
    received_at: datetime,
    *,
    note: str = "",
) -> None:
    mailbox = outgoing.mailbox
    try:
        ingest_batch(
            mailbox=mailbox,
            folder=folder,
            mails=[
                RawMail(
                    provider_key=provider_key,
                    raw=raw,
                    received_at=received_at,
                    seen=True,
                    conversation_id=outgoing.conversation_id,
                )
            ],
        )
        message = Message.objects.get(mailbox=mailbox, provider_key=provider_key)
    except Exception as error:
        logger.exception("outgoing %s: could not be filed (%s)", outgoing.pk, type(error).__name__)
        return  # the lease runs out and `outgoing_recover_stuck` files it again
    changes = {"message": message, "conversation": message.conversation, "lease_until": None}
    if note:  # after any "not delivered to …" of the send itself
        changes["last_error"] = " ".join(filter(None, [outgoing.last_error, note]))[:2000]
    Outgoing.objects.filter(pk=outgoing.pk).update(**changes, updated_at=timezone.now())
    for name, value in changes.items():
        setattr(outgoing, name, value)


# --- recovery ------------------------------------------------------------------------------


@dataclass
class RecoveryResult:
    confirmed_sent: int = 0
    marked_failed: int = 0
    filed: int = 0
    requeued: int = 0


def outgoing_recover_stuck(*, now: datetime | None = None) -> RecoveryResult:
    """Run periodically (beat). Settles what a dead worker left behind; never sends.

    * sending, lease expired: found in Sent by Message-ID → sent (and linked); not found, or
      no way to look → failed, asking the person to check before sending again;
    * sent, not yet filed, lease expired → the copy is filed (searched first, never twice);
    * queued and due for a while with no worker on it → its task is queued again.
    """
    now = now or timezone.now()
    result = RecoveryResult()
    stuck = Outgoing.objects.filter(state=SendState.SENDING, lease_until__lt=now)
    for outgoing in stuck.select_related("mailbox__workspace", "author").order_by("pk"):
        if not _take(outgoing, SendState.SENDING, now):
            continue
        with translation.override(_language(outgoing.author)):
            if _recover_sending(outgoing):
                result.confirmed_sent += 1
            else:
                result.marked_failed += 1
    unfiled = Outgoing.objects.filter(
        state=SendState.SENT, message__isnull=True, lease_until__lt=now
    )
    for outgoing in unfiled.select_related("mailbox__workspace", "author").order_by("pk"):
        if not _take(outgoing, SendState.SENT, now):
            continue
        with translation.override(_language(outgoing.author)):
            keys = keys_for(outgoing.mailbox.workspace)
            raw = read_sealed(
                outgoing.raw_object, keys, field="outgoing.raw", row=outgoing_row(outgoing.pk)
            )
            message_id = outgoing_content(outgoing, keys).get("message_id", "")
            _file_in_sent(outgoing, raw, message_id, search_first=True)
        result.filed += 1
    due = Outgoing.objects.filter(
        state=SendState.QUEUED, updated_at__lt=now - REQUEUE_AFTER
    ).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now - REQUEUE_AFTER))
    for pk in due.values_list("pk", flat=True):
        send_outgoing.delay(pk)  # a duplicate task is harmless: only one can claim it
        result.requeued += 1
    return result


def _take(outgoing: Outgoing, state: str, now: datetime) -> bool:
    """Extend the expired lease, so that a concurrent recovery leaves this one alone."""
    taken = Outgoing.objects.filter(
        pk=outgoing.pk, state=state, lease_until=outgoing.lease_until
    ).update(lease_until=now + LEASE, updated_at=now)
    outgoing.lease_until = now + LEASE
    return bool(taken)


def _recover_sending(outgoing: Outgoing) -> bool:
    """True when the message is found in Sent (then marked sent and linked)."""
    mailbox = outgoing.mailbox
    keys = keys_for(mailbox.workspace)
    message_id = outgoing_content(outgoing, keys).get("message_id", "")
    folder = MailboxFolder.objects.filter(mailbox=mailbox, role=FolderRole.SENT).first()
    found = None
    if message_id and folder is not None and mailbox.imap_host:
        try:
            found = _find_in_sent(mailbox, folder, message_id)
        except Exception as error:
            logger.warning(
                "outgoing %s: Sent folder not searchable (%s)", outgoing.pk, type(error).__name__
            )
    if found is None:
        _fail(outgoing, interrupted_message())
        return False
    _mark_sent(outgoing, sent_at=found.internal_date)
    raw = found.raw or read_sealed(
        outgoing.raw_object, keys, field="outgoing.raw", row=outgoing_row(outgoing.pk)
    )
    _link(outgoing, folder, found.provider_key, raw, outgoing.sent_at or timezone.now())
    return True


def _find_in_sent(mailbox: Mailbox, folder: MailboxFolder, message_id: str) -> _SentCopy | None:
    name = folder_name(folder, mailbox.workspace) or "Sent"
    client = imap_connect(imap_settings(mailbox, mailbox_credentials(mailbox)))
    try:
        return _search(client, folder, name, message_id, fetch=True)
    finally:
        _logout(client)
