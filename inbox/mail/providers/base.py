"""What the Gmail and Graph syncs share: the sealed cursor, the pipeline that fetches a page
while the previous one is stored (in small batches, as its messages arrive), and the writes
(ingest, flags, removals).

The pipeline keeps the mail core's rule: a page's messages are ingested and committed, then
its cursor is saved; a worker killed in between replays the page, and `ingest_batch` skips
what it already has.
"""

from __future__ import annotations

import email.parser
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.keys import keys_for
from inbox.mail.ingest import RawMail, ingest_batch, stored_keys
from inbox.mail.providers.api import Api
from inbox.mail.sealing import folder_row, open_json, seal_json
from inbox.mail.threads import message_id_token
from inbox.models import FolderRole, Mailbox, MailboxFolder, Message, Outgoing

logger = logging.getLogger(__name__)


# Raw bytes a page may hold (a page is fetched while the previous one is stored).
MAX_PAGE_BYTES = 16 * 1024 * 1024
MIN_PAGE_CAP = 5
INGEST_EVERY = 100  # messages of a page stored together, as they arrive


def cursor_load(folder: MailboxFolder, mailbox: Mailbox) -> dict | None:
    if not folder.cursor_sealed:
        return None
    return open_json(
        keys_for(mailbox.workspace),
        folder.cursor_sealed,
        field="folder.cursor",
        row=folder_row(folder.pk),
    )


def cursor_save(folder: MailboxFolder, mailbox: Mailbox, cursor: dict | None) -> None:
    """Sealed: a history id or delta link says nothing, but a next-page link may carry
    query text, and every provider value at rest is sealed alike."""
    folder.cursor_sealed = (
        None
        if cursor is None
        else seal_json(
            keys_for(mailbox.workspace), cursor, field="folder.cursor", row=folder_row(folder.pk)
        )
    )
    MailboxFolder.objects.filter(pk=folder.pk).update(cursor_sealed=folder.cursor_sealed)


@dataclass
class Fetched:
    """A message read from the provider, and the folder it belongs to."""

    mail: RawMail
    role: str


@dataclass
class Page:
    """One page of a listing, history or delta: what to fetch, what else changed, and what
    to save once it is all committed."""

    fetch: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    flags: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # key -> (seen, flagged)
    hints: dict[str, dict] = field(default_factory=dict)  # what the listing said per key
    newest_first: bool = False  # a listing in reverse order of arrival (Gmail's)
    save: Callable[[], None] = lambda: None


@dataclass
class Counts:
    new: dict[str, int] = field(default_factory=dict)
    expunged: int = 0
    flags_updated: int = 0
    skipped_sent_copies: int = 0


def oldest_first(mails: list[RawMail]) -> list[RawMail]:
    """A page in the order the mail arrived: the first message of a provider thread starts
    its conversation, and the threader joins the later ones to it (within the batch too)."""
    return sorted(mails, key=lambda m: m.received_at.timestamp() if m.received_at else 0)


class ApiSync:
    """One pass over one OAuth mailbox (subclassed by GmailSync and GraphSync)."""

    def __init__(self, mailbox: Mailbox, api: Api, *, renew: Callable[[], None]) -> None:
        self.mailbox = mailbox
        self.api = api
        self.renew = renew
        self.keys = keys_for(mailbox.workspace)
        self.folders = {f.role: f for f in mailbox.folders.all()}
        self.counts = Counts()
        self.page_cap = 500  # messages per page, lowered after big messages
        self.seen: set[str] | None = None  # during a resync: every key listed
        self.workers = ThreadPoolExecutor(
            max_workers=api.concurrency, thread_name_prefix=f"{api.label}-fetch"
        )

    def close(self) -> None:
        self.workers.shutdown(wait=True, cancel_futures=True)

    # --- reading ------------------------------------------------------------------------

    def fetch_one(self, key: str, hint: dict) -> Fetched | None:
        raise NotImplementedError

    def unknown(self, keys: Iterable[str]) -> list[str]:
        keys = list(dict.fromkeys(keys))
        known = stored_keys(self.mailbox, keys)
        return [k for k in keys if k not in known]

    # --- the pipeline -----------------------------------------------------------------------

    def run_pages(self, pages: Iterator[Page]) -> None:
        """Fetch page n+1's messages (the worker threads take requests in order) while
        page n is stored."""
        previous: tuple[Page, deque[Future]] | None = None
        for page in pages:
            if self.seen is not None:
                self.seen.update(page.fetch)
            keys = self.unknown(page.fetch)
            if previous is not None:  # being fetched for the page not yet committed
                pending = set(previous[0].fetch)
                keys = [k for k in keys if k not in pending]
            if page.newest_first:
                # Fetched and stored in order of arrival: a thread's first message starts
                # its conversation even when the page is stored in several batches.
                keys.reverse()
            fetching = deque(
                self.workers.submit(self.fetch_one, key, page.hints.get(key, {})) for key in keys
            )
            if previous is not None:
                self.commit(*previous)
            previous = (page, fetching)
        if previous is not None:
            self.commit(*previous)

    def commit(self, page: Page, fetching: deque[Future]) -> None:
        """Store the page's messages in small batches as they arrive (the quota keeps being
        spent meanwhile, and little is left to do after the last answer), then save its
        cursor: a crash in between replays the page, and what was stored is skipped."""
        arrived: list[Fetched] = []
        count = size = 0
        while fetching:  # each answer is let go of once stored
            item = fetching.popleft().result()
            if item is None:
                continue
            arrived.append(item)
            count, size = count + 1, size + len(item.mail.raw)
            if len(arrived) >= INGEST_EVERY:
                self.store(arrived)
                arrived = []
        self.store(arrived)
        self.observe_sizes(count, size)
        self.apply_changes(page)
        page.save()  # only now does the cursor move
        self.renew()
        self.api.token(False)  # a refresh due soon happens here, on the sync's own thread

    def store(self, fetched: list[Fetched]) -> None:
        by_role: dict[str, list[RawMail]] = {}
        for item in fetched:
            by_role.setdefault(item.role, []).append(item.mail)
        for role, mails in by_role.items():
            folder = self.folders.get(role)
            if role == FolderRole.SENT:
                mails = self.without_filed_copies(mails)
            result = ingest_batch(mailbox=self.mailbox, folder=folder, mails=oldest_first(mails))
            self.counts.new[role] = self.counts.new.get(role, 0) + result.created

    def expunge_unseen(self, folder: MailboxFolder | None = None) -> None:
        """After a resync read everything again: what is stored and was not listed is gone
        from the provider (deleted while the cursor was lost), as IMAP marks it."""
        seen, self.seen = self.seen or set(), None
        live = Message.objects.filter(mailbox=self.mailbox, expunged_at=None)
        if folder is not None:
            live = live.filter(folder=folder)
        gone = [
            pk
            for pk, key in live.values_list("pk", "provider_key").iterator()
            # "sent:<pk>": our own copy, filed without a provider id, is never listed.
            if key not in seen and not key.startswith("sent:")
        ]
        for start in range(0, len(gone), 500):
            self.counts.expunged += Message.objects.filter(pk__in=gone[start : start + 500]).update(
                expunged_at=timezone.now()
            )

    def observe_sizes(self, count: int, size: int) -> None:
        """Listings give no sizes: after a page of big messages the next pages hold fewer,
        so that about MAX_PAGE_BYTES are in memory per page (two pages at most)."""
        if count and size:
            self.page_cap = max(MIN_PAGE_CAP, int(count * MAX_PAGE_BYTES / size))

    def apply_changes(self, page: Page) -> None:
        if page.removed:
            self.counts.expunged += Message.objects.filter(
                mailbox=self.mailbox, provider_key__in=page.removed, expunged_at=None
            ).update(expunged_at=timezone.now())
        if page.flags:
            # Listed as present: a message removed earlier and now back (moved back into the
            # inbox, restored from the trash) is live again.
            Message.objects.filter(
                mailbox=self.mailbox, provider_key__in=list(page.flags), expunged_at__isnull=False
            ).update(expunged_at=None)
            changed = []
            for pk, key, seen, flagged in Message.objects.filter(
                mailbox=self.mailbox, provider_key__in=list(page.flags)
            ).values_list("pk", "provider_key", "is_seen", "is_flagged"):
                if (seen, flagged) != page.flags[key]:
                    now_seen, now_flagged = page.flags[key]
                    changed.append(Message(pk=pk, is_seen=now_seen, is_flagged=now_flagged))
            Message.objects.bulk_update(changed, ["is_seen", "is_flagged"], batch_size=500)
            self.counts.flags_updated += len(changed)

    def without_filed_copies(self, mails: list[RawMail]) -> list[RawMail]:
        """The provider's copy of a message we sent and already filed (under its own key:
        "sent:<pk>" when the API gave no id) is the same message: recognised by its
        Message-ID token among our outgoing messages, and not stored twice."""
        tokens = {}
        for mail in mails:
            header = email.parser.BytesHeaderParser().parsebytes(mail.raw[:65536])
            token = message_id_token(self.keys, str(header.get("Message-ID", "") or ""))
            if token is not None:
                tokens[mail.provider_key] = token
        if not tokens:
            return mails
        filed = set(
            Outgoing.objects.filter(
                mailbox=self.mailbox,
                message_id_token__in=set(tokens.values()),
                message__isnull=False,
            ).values_list("message_id_token", flat=True)
        )
        kept = [m for m in mails if tokens.get(m.provider_key) not in filed]
        self.counts.skipped_sent_copies += len(mails) - len(kept)
        return kept
