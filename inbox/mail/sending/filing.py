"""Filing: the sent message's copy in the Sent folder (APPEND with \\Seen, its APPENDUID as
the provider key, else found by Message-ID) and in its conversation (through ingest).
Gmail and Microsoft 365 file their own copy: it is only looked for, through their API."""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from imapclient.exceptions import IMAPClientError

from inbox.mail.imap import describe, imap_connect, imap_settings
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import folder_name, mailbox_credentials
from inbox.mail.sending.outcomes import SentCopy
from inbox.models import FolderRole, Mailbox, MailboxFolder, Message, Outgoing, Provider

# One logger for the package, under the name it has always had.
logger = logging.getLogger("inbox.mail.sending")

SEEN = b"\\Seen"
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.I)


# --- the copy in Sent --------------------------------------------------------------------------


def file_in_sent(outgoing: Outgoing, raw: bytes, message_id: str, *, search_first: bool) -> None:
    """Put the sent message in the Sent folder (once) and into its conversation.

    Never raises: the message has left, and what remains is bookkeeping. Without an IMAP
    copy (server down, no Sent folder) it is ingested under "sent:<pk>", so the conversation
    still shows it, and `last_error` says that the copy is missing.
    """
    mailbox = outgoing.mailbox
    folder = MailboxFolder.objects.filter(mailbox=mailbox, role=FolderRole.SENT).first()
    provider_key = f"sent:{outgoing.pk}"
    stored_raw, received_at, note = raw, outgoing.sent_at or timezone.now(), ""
    if mailbox.provider != Provider.IMAP:
        # Gmail and Microsoft 365 file the sent copy themselves: nothing is appended. When
        # resuming, the copy is looked for, so that one the sync already stored (or will
        # list) is linked under its own id rather than stored again under "sent:<pk>".
        found = None
        if search_first:
            try:
                found = find_in_sent(mailbox, folder, message_id, token=outgoing.message_id_token)
            except Exception as error:
                logger.warning(
                    "outgoing %s: provider's Sent not searchable (%s)",
                    outgoing.pk,
                    type(error).__name__,
                )
        if found is not None:
            provider_key, stored_raw = found.provider_key, found.raw or raw
            received_at = found.internal_date or received_at
    elif folder is not None and mailbox.imap_host:
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
    link_outgoing(outgoing, folder, provider_key, stored_raw, received_at, note=note)


def _sent_copy(
    mailbox: Mailbox,
    folder: MailboxFolder,
    raw: bytes,
    message_id: str,
    *,
    sent_at: datetime,
    search_first: bool,
) -> SentCopy | None:
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
            return SentCopy(f"{folder.pk}:{uidvalidity}:{uid}")
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
        return SentCopy(key)
    data = client.fetch([uid], [b"RFC822", b"INTERNALDATE"]).get(uid, {})
    internal = data.get(b"INTERNALDATE")
    if isinstance(internal, datetime) and timezone.is_naive(internal):
        internal = timezone.make_aware(internal)
    return SentCopy(key, raw=data.get(b"RFC822"), internal_date=internal)


def link_outgoing(
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


def sent_searchable(mailbox: Mailbox, folder: MailboxFolder | None) -> bool:
    """Whether the Sent folder can be searched: over IMAP, or through the provider's API."""
    return mailbox.provider != Provider.IMAP or (folder is not None and bool(mailbox.imap_host))


def find_in_sent(
    mailbox: Mailbox, folder: MailboxFolder | None, message_id: str, *, token: int | None = None
) -> SentCopy | None:
    """The copy in Sent with this Message-ID (`token`: its blind token, for OAuth mailboxes
    to recognise a copy their sync already stored)."""
    if mailbox.provider != Provider.IMAP:
        from inbox.mail.providers.sending import api_find_sent  # imports this module

        return api_find_sent(mailbox, message_id, token=token)
    name = folder_name(folder, mailbox.workspace) or "Sent"
    client = imap_connect(imap_settings(mailbox, mailbox_credentials(mailbox)))
    try:
        return _search(client, folder, name, message_id, fetch=True)
    finally:
        _logout(client)
