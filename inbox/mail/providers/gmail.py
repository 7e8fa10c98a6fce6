"""Gmail over its API: a full sync by listing, then incremental history.

* Full sync: the profile's historyId is recorded first (changes made while listing are
  replayed by history afterwards), then `messages.list` per label (INBOX, SENT) page by page,
  the next page token saved after each committed page, and `messages.get?format=raw` for
  what is not stored yet, several at once within the quota.
* Incremental: `history.list` from the saved historyId: added messages fetched, deleted ones
  marked, label changes followed (read, starred, trash). A 404 means the historyId expired:
  a full resync, in which every message already stored is recognised by its id and not even
  fetched again.
* The quota: 250 units per user per second, `messages.get` = 5 (50 messages per second);
  paced by `Quota`, the listing page (the batch) shrinks when Gmail throttles anyway.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from inbox.mail.ingest import RawMail
from inbox.mail.providers.api import Api
from inbox.mail.providers.base import ApiSync, Fetched, Page, cursor_load, cursor_save
from inbox.mail.providers.oauth import TokenSource
from inbox.mail.providers.quota import Quota
from inbox.models import FolderRole, Mailbox, MailboxFolder

logger = logging.getLogger(__name__)

USER = "/gmail/v1/users/me"
# Quota units per method (Gmail API usage limits).
UNITS = {"get": 5, "list": 5, "history": 2, "profile": 1, "send": 100}
UNITS_PER_SECOND = 250
CONCURRENCY = 10  # requests in flight: enough to reach the quota with ~100 ms latency
LABELS = ("INBOX", "SENT")
MIN_PAGE = 20


class HistoryExpired(Exception):
    pass


def gmail_api(mailbox: Mailbox) -> Api:
    return Api(
        base_url=settings.GMAIL_API_BASE_URL.rstrip("/"),
        label="Gmail",
        token=TokenSource(mailbox),
        quota=Quota(limit=UNITS_PER_SECOND, window=1.0),
        concurrency=CONCURRENCY,
    )


def message_get_raw(api: Api, key: str) -> dict | None:
    """One message with its raw MIME (`format=raw`); None when it no longer exists."""
    response = api.call(
        "GET",
        f"{USER}/messages/{key}",
        units=UNITS["get"],
        params={"format": "raw"},
        passthrough=(404,),
    )
    if response.status_code == 404:
        return None
    return response.json()


def raw_bytes(body: dict) -> bytes:
    """The MIME bytes of a `format=raw` message (base64url, its padding stripped)."""
    return base64.urlsafe_b64decode(body["raw"] + "=" * (-len(body["raw"]) % 4))


def internal_date(body: dict) -> datetime | None:
    """When Gmail received the message (`internalDate`, in milliseconds)."""
    internal = body.get("internalDate")
    return datetime.fromtimestamp(int(internal) / 1000, tz=UTC) if internal else None


def role_for(labels: list[str]) -> str | None:
    """Which of our folders a message belongs to (to oneself: the inbox)."""
    if "INBOX" in labels:
        return FolderRole.INBOX
    if "SENT" in labels:
        return FolderRole.SENT
    return None


def flags_for(labels: list[str]) -> tuple[bool, bool]:
    return "UNREAD" not in labels, "STARRED" in labels


class GmailSync(ApiSync):
    def __init__(self, mailbox: Mailbox, api: Api, *, renew, batch_size: int) -> None:
        super().__init__(mailbox, api, renew=renew)
        self.max_page = max(MIN_PAGE, min(batch_size, 500))
        self.page_size = self.max_page
        self.throttled_seen = 0
        self.resynced = False
        # One cursor for the whole mailbox (Gmail's history is per user), kept on INBOX.
        self.folder: MailboxFolder = self.folders[FolderRole.INBOX]

    def run(self) -> None:
        cursor = cursor_load(self.folder, self.mailbox)
        if cursor is None:
            cursor = self.start_full()
        if cursor.get("full"):
            self.run_pages(self.listing(cursor))
        try:
            self.run_pages(self.history(cursor))
        except HistoryExpired:
            logger.info("mailbox %s: Gmail historyId expired, full resync", self.mailbox.pk)
            self.resynced = True
            cursor = self.start_full()
            self.seen = set()
            self.run_pages(self.listing(cursor))
            self.expunge_unseen()
            self.run_pages(self.history(cursor))

    def save(self, cursor: dict) -> None:
        cursor_save(self.folder, self.mailbox, cursor)

    def start_full(self) -> dict:
        profile = self.api.call("GET", f"{USER}/profile", units=UNITS["profile"]).json()
        cursor = {"history_id": str(profile["historyId"]), "full": list(LABELS), "page": None}
        self.save(cursor)
        return cursor

    def adapt(self) -> None:
        """Adaptive batch size: a smaller page after Gmail throttled, growing back after."""
        if self.api.quota.throttled > self.throttled_seen:
            self.throttled_seen = self.api.quota.throttled
            self.page_size = max(MIN_PAGE, self.page_size // 2)
        elif self.page_size < self.max_page:
            self.page_size = min(self.max_page, int(self.page_size * 1.5))

    def listing(self, cursor: dict) -> Iterator[Page]:
        while cursor["full"]:
            label = cursor["full"][0]
            params = {"labelIds": label, "maxResults": min(self.page_size, self.page_cap)}
            if cursor.get("page"):
                params["pageToken"] = cursor["page"]
            body = self.api.call("GET", f"{USER}/messages", units=UNITS["list"], params=params)
            body = body.json()
            following = dict(cursor, full=list(cursor["full"]), page=body.get("nextPageToken"))
            if not following["page"]:
                following["full"].pop(0)
            yield Page(
                fetch=[m["id"] for m in body.get("messages", [])],
                newest_first=True,  # messages.list answers newest first
                save=lambda c=following: self.save(c),
            )
            cursor.clear()
            cursor.update(following)
            self.adapt()

    def history(self, cursor: dict) -> Iterator[Page]:
        while True:
            params = {
                "startHistoryId": cursor["history_id"],
                "maxResults": 500,
                "historyTypes": ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"],
            }
            if cursor.get("page"):
                params["pageToken"] = cursor["page"]
            response = self.api.call(
                "GET", f"{USER}/history", units=UNITS["history"], params=params, passthrough=(404,)
            )
            if response.status_code == 404:
                raise HistoryExpired
            body = response.json()
            page = self.history_page(body.get("history", []))
            following = dict(cursor, page=body.get("nextPageToken"))
            if not following["page"]:
                following["history_id"] = str(body.get("historyId") or cursor["history_id"])
            page.save = lambda c=following: self.save(c)
            yield page
            cursor.clear()
            cursor.update(following)
            if not cursor["page"]:
                return

    def history_page(self, records: list[dict]) -> Page:
        page = Page()
        labels: dict[str, list[str]] = {}  # the latest labels seen per message
        deleted: set[str] = set()
        for record in records:
            for entry in record.get("messagesAdded", []):
                message = entry["message"]
                labels[message["id"]] = message.get("labelIds", [])
            for kind in ("labelsAdded", "labelsRemoved"):
                for entry in record.get(kind, []):
                    message = entry["message"]
                    labels[message["id"]] = message.get("labelIds", [])
            for entry in record.get("messagesDeleted", []):
                deleted.add(entry["message"]["id"])
        for key, current in labels.items():
            if key in deleted:
                continue
            if "TRASH" in current or "SPAM" in current or role_for(current) is None:
                # Trashed, or archived out of INBOX: gone from our folders, as over IMAP.
                page.removed.append(key)
            else:
                page.fetch.append(key)  # new, or back in INBOX / SENT (known ones are skipped)
                page.flags[key] = flags_for(current)
        page.removed.extend(deleted)
        return page

    def fetch_one(self, key: str, hint: dict) -> Fetched | None:
        body = message_get_raw(self.api, key)
        if body is None:
            return None  # deleted since it was listed
        labels = body.get("labelIds", [])
        role = role_for(labels)
        if role is None:
            return None  # moved out of INBOX / SENT since it was listed
        seen, flagged = flags_for(labels)
        return Fetched(
            mail=RawMail(
                provider_key=body["id"],
                raw=raw_bytes(body),
                received_at=internal_date(body),
                seen=seen,
                flagged=flagged,
                thread_hint=body.get("threadId", ""),
            ),
            role=role,
        )


def gmail_sync(mailbox: Mailbox, *, renew, batch_size: int, api: Api | None = None) -> GmailSync:
    sync = GmailSync(mailbox, api or gmail_api(mailbox), renew=renew, batch_size=batch_size)
    try:
        sync.run()
    finally:
        sync.close()
    now = timezone.now()
    MailboxFolder.objects.filter(mailbox=mailbox).update(last_synced_at=now)
    return sync
