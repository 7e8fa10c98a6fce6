"""Microsoft 365 over Graph: one delta query per folder (Inbox, Sent Items).

* Immutable ids (`Prefer: IdType="ImmutableId"`): a message keeps its id when moved, so the id
  is its identity here. The raw MIME of each new message comes from `/messages/{id}/$value`,
  so the stored message and the export are byte for byte what Exchange holds.
* The `@odata.nextLink` is saved after each committed page, the `@odata.deltaLink` at the
  end; the next pass starts from it. `@removed` items are marked removed, as IMAP expunges.
  Items seen again (Graph replays them) are recognised by id; only their read / flagged state
  is followed.
* 410 Gone or `syncStateNotFound`: the delta is lost, the folder is read again from the start,
  and what is already stored is recognised by its id and not fetched again.
* The quota: 10,000 requests per 10 minutes and 4 at once per mailbox; 429 is waited out
  for the `Retry-After` Graph gives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from inbox.mail.ingest import RawMail
from inbox.mail.providers import ProviderError
from inbox.mail.providers.api import Api, reasons
from inbox.mail.providers.base import ApiSync, Fetched, Page, cursor_load, cursor_save
from inbox.mail.providers.oauth import TokenSource
from inbox.mail.providers.quota import Quota
from inbox.models import FolderRole, Mailbox, MailboxFolder

logger = logging.getLogger(__name__)

REQUESTS_PER_WINDOW = 10_000
WINDOW_SECONDS = 600.0
CONCURRENT = 4
PAGE_SIZE = 50
WELL_KNOWN = {FolderRole.INBOX: "inbox", FolderRole.SENT: "sentitems"}
SELECT = "id,internetMessageId,conversationId,receivedDateTime,isRead,flag"
IMMUTABLE = 'IdType="ImmutableId"'
LOST_DELTA = {"syncStateNotFound", "SyncStateNotFound", "resyncRequired", "SyncStateInvalid"}
MAX_RESYNCS = 2


class DeltaLost(Exception):
    pass


def graph_api(mailbox: Mailbox) -> Api:
    return Api(
        base_url=settings.MICROSOFT_GRAPH_BASE_URL.rstrip("/"),
        label="Microsoft 365",
        token=TokenSource(mailbox),
        quota=Quota(limit=REQUESTS_PER_WINDOW, window=WINDOW_SECONDS),
        concurrency=CONCURRENT,
        slots=threading.BoundedSemaphore(CONCURRENT),
    )


def received(value: str | None) -> datetime | None:
    moment = parse_datetime(value) if value else None
    return moment if moment is None or moment.tzinfo else timezone.make_aware(moment)


class GraphSync(ApiSync):
    def __init__(self, mailbox: Mailbox, api: Api, *, renew, batch_size: int) -> None:
        super().__init__(mailbox, api, renew=renew)
        # Small pages: the first messages are fetched at once, and fetching one page
        # overlaps storing the previous one.
        self.page_size = max(10, min(batch_size, PAGE_SIZE))
        self.resynced: set[str] = set()

    def run(self) -> None:
        for role in (FolderRole.INBOX, FolderRole.SENT):
            folder = self.folders.get(role)
            if folder is None:
                continue
            for attempt in range(MAX_RESYNCS + 1):
                try:
                    self.run_pages(self.delta(folder))
                    if self.seen is not None:
                        self.expunge_unseen(folder)
                    break
                except DeltaLost:
                    if attempt == MAX_RESYNCS:
                        raise ProviderError(
                            _(
                                "Microsoft 365 lost the sync state of a folder again and again; "
                                "the next pass tries once more."
                            )
                        ) from None
                    logger.info("mailbox %s: Graph delta lost (%s), resync", self.mailbox.pk, role)
                    self.resynced.add(role)
                    self.seen = set()
                    cursor_save(folder, self.mailbox, None)

    def headers(self) -> dict:
        return {"Prefer": f"{IMMUTABLE}, odata.maxpagesize={min(self.page_size, self.page_cap)}"}

    def delta(self, folder: MailboxFolder) -> Iterator[Page]:
        cursor = cursor_load(folder, self.mailbox) or {}
        link = cursor.get("link") or (
            f"/v1.0/me/mailFolders/{WELL_KNOWN[folder.role]}/messages/delta?$select={SELECT}"
        )
        while True:
            response = self.api.call(
                "GET", link, headers=self.headers(), passthrough=(400, 404, 410)
            )
            if response.status_code != 200:
                if response.status_code == 410 or reasons(response) & LOST_DELTA:
                    raise DeltaLost
                raise ProviderError(
                    _("Microsoft 365 refused the folder's changes (%(status)s).")
                    % {"status": response.status_code}
                )
            body = response.json()
            page = Page()
            for item in body.get("value", []):
                key = item["id"]
                if "@removed" in item:
                    page.removed.append(key)
                    continue
                page.fetch.append(key)
                page.hints[key] = {"role": folder.role, **item}
                if "isRead" in item:
                    flagged = (item.get("flag") or {}).get("flagStatus") == "flagged"
                    page.flags[key] = (bool(item["isRead"]), flagged)
            following = body.get("@odata.nextLink") or body.get("@odata.deltaLink")
            if not following:
                raise ProviderError(_("Microsoft 365 answered a page of changes without a link."))
            page.save = lambda f=folder, link=following: cursor_save(
                f, self.mailbox, {"link": link}
            )
            yield page
            if "@odata.deltaLink" in body and "@odata.nextLink" not in body:
                MailboxFolder.objects.filter(pk=folder.pk).update(last_synced_at=timezone.now())
                return
            link = following

    def fetch_one(self, key: str, hint: dict) -> Fetched | None:
        response = self.api.call(
            "GET",
            f"/v1.0/me/messages/{key}/$value",
            headers={"Prefer": IMMUTABLE},
            passthrough=(404,),
        )
        if response.status_code == 404:
            return None  # deleted since the delta listed it
        flagged = (hint.get("flag") or {}).get("flagStatus") == "flagged"
        return Fetched(
            mail=RawMail(
                provider_key=key,
                raw=response.content,
                received_at=received(hint.get("receivedDateTime")),
                seen=bool(hint.get("isRead")),
                flagged=flagged,
                thread_hint=hint.get("conversationId", ""),
            ),
            role=hint.get("role", FolderRole.INBOX),
        )


def graph_sync(mailbox: Mailbox, *, renew, batch_size: int, api: Api | None = None) -> GraphSync:
    sync = GraphSync(mailbox, api or graph_api(mailbox), renew=renew, batch_size=batch_size)
    try:
        sync.run()
    finally:
        sync.close()
    return sync
