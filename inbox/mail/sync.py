"""Mail sync that never loses a message and never stores one twice.

One mailbox at a time (a lease in the database, renewed after every batch), folder by folder
(INBOX, then Sent), batch by batch: a batch is fetched, ingested and committed, and only then
does the folder's cursor move. A worker killed at any instant resumes from the last committed
cursor; `batch_sort` skips what it already has. Fetching, preparing (parse, index, seal) and
storing overlap, a batch each, so both cores stay busy (see `_fetched_batches`).

A folder whose UIDVALIDITY changed is read again from the start; messages already stored are
recognised by their bytes and re-keyed (see `batch_sort(adopt_prefix=...)`), so nothing is
duplicated. A failing mailbox records what went wrong, in words, and never stops the others.
"""

import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from imapclient import IMAPClient
from imapclient import imapclient as imapclient_module

from accounts.keys import keys_for
from inbox.mail.imap import MailServerError, SettingsRefused, describe, imap_connect, imap_settings
from inbox.mail.imap_fetch import uid_fetch
from inbox.mail.ingest import (
    IngestResult,
    RawMail,
    SortedBatch,
    batch_prepare,
    batch_sort,
    batch_store,
)
from inbox.mail.mailboxes import folder_name, folder_rename, mailbox_credentials
from inbox.mail.message_content import Prepared
from inbox.mail.preparing import Preparer
from inbox.mail.providers import ReconnectNeeded
from inbox.mail.sync_summary import FolderSummary, SyncSummary
from inbox.models import FolderRole, Mailbox, MailboxFolder, Message, Provider, SyncState
from trupeo.faults import fault_part
from trupeo.storage import object_store

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
LEASE = timedelta(minutes=5)
POLL_INTERVAL = timedelta(seconds=60)
# Gmail and Microsoft 365 tell us about new mail (inbox/mail/push/) while their subscription
# is live: polling then only catches a lost notification.
PUSHED_POLL_INTERVAL = timedelta(minutes=5)
MAX_BACKOFF = timedelta(minutes=30)
FETCH_ITEMS = "BODY.PEEK[] INTERNALDATE FLAGS"
# A batch's raw bytes are in memory about four times at once: fetched, sent to a worker,
# prepared there, and (sealed) being stored.
MAX_BATCH_BYTES = 16 * 1024 * 1024
UIDS_PER_COMMAND = 5000  # keeps each command line well under servers' limits (Dovecot: 64 KiB)
PREPARE_WORKERS = 2  # forked; with the fetching thread and this one, both cores stay busy


# ------------------------------------------------------------------------------- lease


def _lease_acquire(mailbox_id: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        Mailbox.objects.filter(pk=mailbox_id)
        .filter(
            Q(sync_lease_until__isnull=True)
            | Q(sync_lease_until__lt=now)
            | Q(sync_lease_owner=owner)
        )
        .update(sync_lease_owner=owner, sync_lease_until=now + LEASE)
    )


def _lease_renew(mailbox_id: int, owner: str) -> None:
    renewed = Mailbox.objects.filter(pk=mailbox_id, sync_lease_owner=owner).update(
        sync_lease_until=timezone.now() + LEASE
    )
    if not renewed:
        raise MailServerError(_("Another worker took over this mailbox's sync."))


def _lease_release(mailbox_id: int, owner: str) -> None:
    Mailbox.objects.filter(pk=mailbox_id, sync_lease_owner=owner).update(
        sync_lease_owner="", sync_lease_until=None
    )


# ------------------------------------------------------------------------------ entry


def mailboxes_due() -> list[int]:
    """Active mailboxes whose next poll is due; failing ones back off up to 30 minutes."""
    now = timezone.now()
    due = []
    for mailbox in Mailbox.objects.filter(
        sync_state__in=[SyncState.ACTIVE, SyncState.ERROR],
        workspace__read_only_since__isnull=True,  # read-only (billing): mail kept, sync paused
    ).values_list(
        "pk", "last_attempt_at", "consecutive_failures", "push__expires_at", "push__last_error"
    ):
        pk, last_attempt_at, failures, push_until, push_error = mailbox
        pushed = push_until is not None and push_until > now and not push_error
        interval = PUSHED_POLL_INTERVAL if pushed else POLL_INTERVAL
        interval = max(interval, timedelta(seconds=settings.TRUPEO_POLL_SECONDS))
        wait = min(interval * (2 ** min(failures, 10)), MAX_BACKOFF)
        if last_attempt_at is None or last_attempt_at + wait <= now:
            due.append(pk)
    return due


def mailbox_sync(
    *, mailbox_id: int, batch_size: int = BATCH_SIZE, parallel: bool = True
) -> SyncSummary:
    """One full pass over a mailbox. `parallel=False` keeps all work in this process (for
    callers that run threads, where forking a worker is unsafe)."""
    mailbox = Mailbox.objects.select_related("workspace").get(pk=mailbox_id)
    summary = SyncSummary(mailbox_id=mailbox.pk, address=mailbox.address)
    if mailbox.workspace.is_read_only:
        summary.skipped_read_only = True  # paused, not failed: nothing changes, nothing lost
        return summary
    owner = uuid.uuid4().hex
    if not _lease_acquire(mailbox.pk, owner):
        summary.skipped_busy = True
        return summary
    started = time.monotonic()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_attempt_at=timezone.now())
    try:
        if mailbox.provider != Provider.IMAP:
            # Gmail and Microsoft 365 go through their APIs (inbox.mail.providers), same lease.
            from inbox.mail.providers.sync import provider_sync

            summary.folders = provider_sync(
                mailbox, renew=lambda: _lease_renew(mailbox.pk, owner), batch_size=batch_size
            )
        else:
            _imap_pass(mailbox, summary, owner=owner, batch_size=batch_size, parallel=parallel)
    except Exception as error:
        summary.ok = False
        summary.error = describe(error, host=mailbox.imap_host, protocol="IMAP")
        if fault_part(error) is not None:
            # Our own part failed, mid-pass: what was committed stays, the rest comes next time.
            summary.error += " " + _("The next sync resumes where this one stopped.")
        if not isinstance(error, MailServerError):
            logger.exception("mailbox %s: sync failed", mailbox.pk)
        else:
            logger.warning("mailbox %s: sync failed: %s", mailbox.pk, summary.error)
        # Retrying cannot help these: the sync stops until an admin reconnects.
        reconnect = isinstance(error, ReconnectNeeded | SettingsRefused)
        state = SyncState.RECONNECT if reconnect else SyncState.ERROR
        _on_live_connection(
            mailbox.pk,
            "record the failure",
            lambda: Mailbox.objects.filter(pk=mailbox.pk).update(
                last_error=summary.error,
                last_error_at=timezone.now(),
                consecutive_failures=F("consecutive_failures") + 1,
                sync_state=state,
            ),
        )
    else:
        Mailbox.objects.filter(pk=mailbox.pk).update(
            last_success_at=timezone.now(),
            last_error="",
            consecutive_failures=0,
            sync_state=SyncState.ACTIVE,
        )
    finally:
        _on_live_connection(
            mailbox.pk, "release the lease", lambda: _lease_release(mailbox.pk, owner)
        )
        summary.seconds = time.monotonic() - started
    return summary


def _on_live_connection(mailbox_id: int, what: str, write: Callable[[], object]) -> None:
    """Run `write`, once more on a fresh connection if the database connection was lost (the
    failure being recorded may be just that). Still failing, it is logged: the database is
    down, and the lease then expires on its own."""
    for attempt in (1, 2):
        try:
            write()
            return
        except DatabaseError:
            if attempt == 2 or connection.in_atomic_block:
                logger.exception("mailbox %s: could not %s", mailbox_id, what)
                return
            connection.close()  # the next query opens a new connection


def _imap_pass(
    mailbox: Mailbox, summary: SyncSummary, *, owner: str, batch_size: int, parallel: bool
) -> None:
    client = imap_connect(imap_settings(mailbox, mailbox_credentials(mailbox)))
    try:
        if b"CONDSTORE" in client.capabilities():
            client.enable("CONDSTORE")
        for folder in mailbox.folders.order_by("role"):  # "inbox" before "sent"
            summary.folders.append(
                _folder_sync(
                    client,
                    mailbox,
                    folder,
                    owner=owner,
                    batch_size=batch_size,
                    parallel=parallel,
                )
            )
    finally:
        with contextlib.suppress(Exception):  # the connection may already be gone
            client.logout()


# ----------------------------------------------------------------------------- folder


def _server_folder(client: IMAPClient, mailbox: Mailbox, folder: MailboxFolder) -> str | None:
    """The folder's name on the server: INBOX, or the one marked \\Sent (stored sealed)."""
    if folder.role == FolderRole.INBOX:
        return "INBOX"
    stored = folder_name(folder, mailbox.workspace)
    special = client.find_special_folder(imapclient_module.SENT)
    if special and special != stored:
        folder_rename(folder=folder, name=special, workspace=mailbox.workspace)
        return special
    if special or client.folder_exists(stored):
        return stored
    return None


def _folder_sync(
    client: IMAPClient,
    mailbox: Mailbox,
    folder: MailboxFolder,
    *,
    owner: str,
    batch_size: int,
    parallel: bool,
) -> FolderSummary:
    summary = FolderSummary(role=folder.role)
    name = _server_folder(client, mailbox, folder)
    if name is None:
        summary.note = _("no Sent folder on the server")
        return summary
    info = client.select_folder(name, readonly=True)
    uidvalidity = int(info[b"UIDVALIDITY"])
    highestmodseq = int(info[b"HIGHESTMODSEQ"]) if b"HIGHESTMODSEQ" in info else None
    read_from_start = folder.uidvalidity != uidvalidity
    if read_from_start:
        # First sync, or the server renumbered the folder: read it all again from UID 1.
        summary.resynced = folder.uidvalidity is not None
        folder.uidvalidity, folder.last_uid, folder.highestmodseq = uidvalidity, 0, None
        folder.save(update_fields=["uidvalidity", "last_uid", "highestmodseq"])
    prefix = f"{folder.pk}:{uidvalidity}:"

    new_uids = sorted(
        u for u in client.search(["UID", f"{folder.last_uid + 1}:*"]) if u > folder.last_uid
    )
    for result, last_uid in _fetched_batches(
        client, mailbox, folder, new_uids, prefix, batch_size, parallel
    ):
        summary.new += result.created
        summary.adopted += result.adopted
        # The cursor moves only after the batch is committed.
        MailboxFolder.objects.filter(pk=folder.pk).update(last_uid=last_uid)
        folder.last_uid = last_uid
        _lease_renew(mailbox.pk, owner)

    if summary.resynced:
        # What was stored under the old numbering and not found again is gone from the server.
        summary.expunged += (
            Message.objects.filter(folder=folder, expunged_at=None)
            .exclude(provider_key__startswith=prefix)
            .update(expunged_at=timezone.now())
        )
    if not read_from_start:
        # (Read from the start, every message came with its flags a moment ago; a change
        # since is caught next time, from the HIGHESTMODSEQ of this SELECT.)
        summary.flags_updated = _reconcile_flags(client, folder, prefix, highestmodseq)
    summary.expunged += _reconcile_expunges(client, folder, prefix, int(info.get(b"EXISTS", 0)))
    MailboxFolder.objects.filter(pk=folder.pk).update(
        highestmodseq=highestmodseq, last_synced_at=timezone.now()
    )
    return summary


def _fetched_batches(
    client: IMAPClient,
    mailbox: Mailbox,
    folder: MailboxFolder,
    uids: list[int],
    prefix: str,
    batch_size: int,
    parallel: bool,
) -> Iterator[tuple[IngestResult, int]]:
    """Ingest `uids` batch by batch. Three stages overlap: a thread fetches the next batch,
    forked workers prepare the ones before it (parse, index, seal, write objects; when there
    are enough batches to pay for the forks), and this thread threads and stores the oldest."""
    chunks = _chunks(uids, _sizes(client, uids), batch_size)
    if not chunks:
        return
    keys = keys_for(mailbox.workspace)
    store = object_store()
    preparer = (
        Preparer(keys, mailbox_id=mailbox.pk, workers=PREPARE_WORKERS)
        if parallel and len(chunks) > PREPARE_WORKERS + 1
        else None
    )

    def sorted_batch(mails: list[RawMail]) -> tuple[SortedBatch, Callable[[], list[Prepared]]]:
        batch = batch_sort(mailbox=mailbox, folder=folder, mails=mails, adopt_prefix=prefix)
        if preparer and batch.fresh:
            prepared = preparer.submit(batch.fresh).result
            # The worker has the bytes now; storing needs everything but them.
            batch.fresh = [replace(m, raw=b"") for m in batch.fresh]
            return batch, prepared
        return batch, lambda: batch_prepare(mailbox=mailbox, batch=batch, store=store)

    def stored(batch: SortedBatch, prepared: Callable[[], list[Prepared]]) -> IngestResult:
        if not batch.fresh:
            return batch.result
        return batch_store(
            mailbox=mailbox, folder=folder, batch=batch, prepared=prepared(), store=store
        )

    # Batches sorted and handed to the workers, oldest first; one per worker keeps all busy.
    in_flight: deque[tuple[SortedBatch, Callable[[], list[Prepared]], int]] = deque()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-fetch") as pool:
            fetching = pool.submit(_fetch, client, chunks[0], prefix)
            for index, chunk in enumerate(chunks):
                mails = fetching.result()
                if index + 1 < len(chunks):
                    fetching = pool.submit(_fetch, client, chunks[index + 1], prefix)
                # Sorted (what is new) before older batches are stored, so the workers
                # prepare it meanwhile.
                in_flight.append((*sorted_batch(mails), chunk[-1]))
                if len(in_flight) > (PREPARE_WORKERS if preparer else 0):
                    batch, prepared, last_uid = in_flight.popleft()
                    yield stored(batch, prepared), last_uid
            while in_flight:
                batch, prepared, last_uid = in_flight.popleft()
                yield stored(batch, prepared), last_uid
    finally:
        if preparer:
            preparer.close()


def _sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for start in range(0, len(uids), UIDS_PER_COMMAND):
        response = uid_fetch(client, uids[start : start + UIDS_PER_COMMAND], "RFC822.SIZE")
        sizes.update((uid, data.get(b"RFC822.SIZE") or 0) for uid, data in response.items())
    return sizes


def _chunks(uids: list[int], sizes: dict[int, int], batch_size: int) -> list[list[int]]:
    """Batches of at most `batch_size` messages and MAX_BATCH_BYTES: memory stays flat
    however big the attachments are (a message larger than that is a batch of its own)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if current and (len(current) >= batch_size or current_bytes + size > MAX_BATCH_BYTES):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(uid)
        current_bytes += size
    if current:
        chunks.append(current)
    return chunks


def _fetch(client: IMAPClient, chunk: list[int], prefix: str) -> list[RawMail]:
    response = uid_fetch(client, chunk, FETCH_ITEMS)
    mails = []
    for uid in chunk:  # in UID order; a UID expunged meanwhile is simply absent
        data = response.get(uid)
        if not data or data.get(b"BODY[]") is None:
            continue
        flags = data.get(b"FLAGS", ())
        mails.append(
            RawMail(
                provider_key=f"{prefix}{uid}",
                raw=data[b"BODY[]"],
                received_at=data.get(b"INTERNALDATE"),  # UTC: it crosses to the workers
                seen=b"\\Seen" in flags,
                flagged=b"\\Flagged" in flags,
            )
        )
    return mails


def _uid_of(provider_key: str, prefix: str) -> int | None:
    return int(provider_key[len(prefix) :]) if provider_key.startswith(prefix) else None


def _reconcile_flags(
    client: IMAPClient, folder: MailboxFolder, prefix: str, highestmodseq: int | None
) -> int:
    """Seen and flagged, as the server has them now (only the changes, with CONDSTORE)."""
    if folder.last_uid == 0:
        return 0
    modifiers = None
    if highestmodseq is not None and folder.highestmodseq is not None:
        if highestmodseq == folder.highestmodseq:
            return 0
        modifiers = [f"CHANGEDSINCE {folder.highestmodseq}"]
    stored = {
        key: (pk, seen, flagged)
        for key, pk, seen, flagged in Message.objects.filter(
            folder=folder, provider_key__startswith=prefix, expunged_at=None
        ).values_list("provider_key", "pk", "is_seen", "is_flagged")
    }
    uids = sorted(uid for key in stored if (uid := _uid_of(key, prefix)) is not None)
    changed = []
    for start in range(0, len(uids), UIDS_PER_COMMAND):
        response = client.fetch(uids[start : start + UIDS_PER_COMMAND], [b"FLAGS"], modifiers)
        for uid, data in response.items():
            if f"{prefix}{uid}" not in stored:
                continue  # an unsolicited response about another message
            pk, seen, flagged = stored[f"{prefix}{uid}"]
            server_flags = data.get(b"FLAGS", ())
            now_seen, now_flagged = b"\\Seen" in server_flags, b"\\Flagged" in server_flags
            if (seen, flagged) != (now_seen, now_flagged):
                changed.append(Message(pk=pk, is_seen=now_seen, is_flagged=now_flagged))
    Message.objects.bulk_update(changed, ["is_seen", "is_flagged"], batch_size=500)
    return len(changed)


def _reconcile_expunges(client: IMAPClient, folder: MailboxFolder, prefix: str, exists: int) -> int:
    """Mark what the server no longer has; cheap when the counts already agree."""
    live = Message.objects.filter(folder=folder, expunged_at=None, provider_key__startswith=prefix)
    if live.count() == exists:
        return 0
    on_server = set(client.search("ALL")) if exists else set()
    gone = [
        pk
        for pk, key in live.values_list("pk", "provider_key")
        if (uid := _uid_of(key, prefix)) is not None and uid not in on_server
    ]
    return Message.objects.filter(pk__in=gone).update(expunged_at=timezone.now())
