"""Which IDLE watcher holds which mailbox: leases in the database.

Every watcher process, on any host, runs `leases_tick` every few seconds (one short
transaction, a handful of queries whatever the number of mailboxes): it says it is alive,
renews its own leases, lets go of mailboxes that no longer need watching, and claims expired
or free leases up to its fair share (mailboxes / live watchers). Claiming is a conditional
UPDATE of rows picked with `SELECT … FOR UPDATE SKIP LOCKED`, so two watchers never hold
the same mailbox; a dead watcher's leases expire and are claimed by the others.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.models import Mailbox, Provider, SyncState, WatcherPresence, WatchLease

CLAIM_BATCH = 1000  # at most this many new mailboxes per tick (connections open gradually)
RELEASE_BATCH = 100  # a watcher over its fair share hands back this many per tick at most


def watchable() -> QuerySet:
    """IMAP mailboxes that are syncing (a failing one too: IDLE tells when it is back)."""
    return Mailbox.objects.filter(
        provider=Provider.IMAP,
        sync_state__in=[SyncState.ACTIVE, SyncState.ERROR],
        workspace__read_only_since__isnull=True,
    )


def _expired(now) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__lt=now)


def leases_tick(*, holder: str, lease: timedelta, limit: int) -> set[int]:
    """One round for the watcher `holder`; the mailbox ids it holds afterwards."""
    now = timezone.now()
    until = now + lease
    wanted = watchable().values("pk")
    with transaction.atomic():
        WatcherPresence.objects.update_or_create(holder=holder, defaults={"expires_at": until})
        WatcherPresence.objects.filter(expires_at__lt=now - lease).delete()
        missing = list(
            watchable().filter(watch_lease__isnull=True).values_list("pk", flat=True)[:CLAIM_BATCH]
        )
        WatchLease.objects.bulk_create(
            [WatchLease(mailbox_id=pk) for pk in missing], ignore_conflicts=True
        )
        WatchLease.objects.filter(holder=holder).exclude(mailbox_id__in=wanted).update(
            holder="", expires_at=None
        )
        held = WatchLease.objects.filter(holder=holder).update(expires_at=until)
        watchers = max(1, WatcherPresence.objects.filter(expires_at__gt=now).count())
        total = watchable().count()
        share = min(limit, math.ceil(total / watchers))
        if held > share + 1:
            extra = list(
                WatchLease.objects.filter(holder=holder)
                .order_by("-mailbox_id")
                .values_list("mailbox_id", flat=True)[: min(held - share, RELEASE_BATCH)]
            )
            WatchLease.objects.filter(holder=holder, mailbox_id__in=extra).update(
                holder="", expires_at=None
            )
        elif held < share:
            free = list(
                WatchLease.objects.select_for_update(skip_locked=True)
                .filter(_expired(now), mailbox_id__in=wanted)
                .order_by("mailbox_id")
                .values_list("mailbox_id", flat=True)[: min(share - held, CLAIM_BATCH)]
            )
            # The expiry is checked again: where the database has no row locks (SQLite),
            # this conditional update is what keeps a mailbox to one watcher.
            WatchLease.objects.filter(_expired(now), mailbox_id__in=free).update(
                holder=holder, expires_at=until
            )
    return set(WatchLease.objects.filter(holder=holder).values_list("mailbox_id", flat=True))


def leases_release(*, holder: str) -> None:
    """A watcher stopping cleanly: its mailboxes are free for the others at once."""
    with transaction.atomic():
        WatchLease.objects.filter(holder=holder).update(holder="", expires_at=None)
        WatcherPresence.objects.filter(holder=holder).delete()
