"""The daily retention run: applies each workspace's confirmed policy, in batches, and writes
a deletion receipt.

Order and crashes
-----------------
Each batch (BATCH conversations at most, so a transaction stays small) deletes the stored
objects first (raw mail, attachments, outgoing copies, through `inbox.erasure`), then, in one
transaction, the rows and the receipt's counts. A crash between the two leaves rows whose
objects are gone, of conversations due for deletion anyway: the next run selects the same
ids again (oldest first), deleting their objects again is a no-op, and the rows go. No crash
leaves an object that no row names. The receipt is counted in the same transaction as the
rows, so it never claims a deletion that did not happen.

Reports
-------
Conversations go through the inbox's own deletion (`conversations_rows_delete`), whose cascade
reaches only the inbox's tables. The reports' aggregate tables hold anonymous counts and
durations with no foreign key to a conversation (tests/privacy_data/test_retention.py checks
that no `reports` model cascades from one), so they keep their numbers.

Invoices are never touched: no category reaches `billing`.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from inbox.erasure import (
    closed_conversations,
    closed_conversations_next,
    conversations_objects_delete,
    conversations_rows_delete,
)
from privacy.gdpr.retention_policies import (
    CATEGORIES,
    CLOSED_CONVERSATIONS,
    EXPORTS,
    SECURITY_LOGS,
    cutoff,
    export_rows,
    policies_in_force,
    policy_days,
    policy_in_force,
    security_log_rows,
)
from privacy.models import DeletionReceipt, ExportState, SecurityEvent
from trupeo.retention import purgers
from trupeo.storage import ObjectStore, object_store

logger = logging.getLogger(__name__)
BATCH = 500  # conversations (or rows) per transaction
DETAILS = ("messages", "attachments", "stored_objects")


def retention_runs_queue() -> int:
    """Queue one run per workspace that has a policy in force (the daily beat task)."""
    from privacy.tasks import apply_retention  # the tasks import this module
    from trupeo.queueing import enqueue_on_commit

    policies = policies_in_force()
    for policy in policies:
        enqueue_on_commit(apply_retention, policy.workspace_id)
    return len(policies)


class _Run:
    """One run in one workspace: the budget left per category and the receipt so far."""

    def __init__(self, receipt: DeletionReceipt, limit: int | None, batch: int) -> None:
        self.receipt = receipt
        self.limit = limit
        self.batch = batch
        self.stopped = False

    def size(self, done: int) -> int:
        """How many to take in the next batch of a category that has deleted `done`."""
        if self.limit is None:
            return self.batch
        return max(0, min(self.batch, self.limit - done))

    def add(self, **counts: int) -> None:
        """Called inside the transaction that deletes the rows counted."""
        receipt = DeletionReceipt.objects.select_for_update().get(pk=self.receipt.pk)
        for key, number in counts.items():
            receipt.counts[key] = receipt.counts.get(key, 0) + number
        receipt.save(update_fields=["counts"])
        self.receipt = receipt


def retention_run(
    *,
    workspace_id: int,
    now: datetime | None = None,
    limit: int | None = None,
    batch: int = BATCH,
    store: ObjectStore | None = None,
) -> DeletionReceipt | None:
    """Apply the workspace's policy in force; None when it has none (nothing is deleted).

    `limit` caps what each category deletes in this run (None: everything due); what is
    left goes in the next run, and the receipt says it is not complete.
    """
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    policy = policy_in_force(workspace_id=workspace_id) if workspace else None
    if workspace is None or policy is None:
        return None
    now = now or timezone.now()
    store = store or object_store()
    days = policy_days(policy)
    receipt = DeletionReceipt.objects.create(
        workspace=workspace,
        policy=policy,
        policy_days=days,
        counts={category.key: 0 for category in CATEGORIES} | dict.fromkeys(DETAILS, 0),
    )
    run = _Run(receipt, limit, batch)
    for category in CATEGORIES:
        before = cutoff(now, days[category.key])
        if before is None:
            continue
        if category.key == CLOSED_CONVERSATIONS:
            _conversations(run, workspace, before, store)
        elif category.key == SECURITY_LOGS:
            _security_log(run, workspace_id, days[category.key], now)
        elif category.key == EXPORTS:
            _exports(run, workspace_id, days[category.key], now, store)
        else:
            _registered(run, category.key, workspace_id, before)
    DeletionReceipt.objects.filter(pk=receipt.pk).update(
        finished_at=timezone.now(), complete=not run.stopped
    )
    receipt.refresh_from_db()
    logger.info(
        "workspace %s: retention run deleted %d row(s)%s",
        workspace_id,
        receipt.total,
        "" if receipt.complete else " (limit reached; the next run goes on)",
    )
    return receipt


def _conversations(run: _Run, workspace: Workspace, before: datetime, store: ObjectStore) -> None:
    done = 0
    while size := run.size(done):
        ids = closed_conversations_next(workspace_id=workspace.pk, closed_before=before, limit=size)
        if not ids:
            return
        objects = conversations_objects_delete(
            workspace=workspace, conversation_ids=ids, store=store
        )
        with transaction.atomic():
            # Still closed and due: one reopened by a new message since is kept.
            due = closed_conversations(workspace_id=workspace.pk, closed_before=before)
            still = list(due.filter(pk__in=ids).select_for_update().values_list("pk", flat=True))
            erased = conversations_rows_delete(workspace=workspace, conversation_ids=still)
            run.add(
                **{CLOSED_CONVERSATIONS: erased.conversations},
                messages=erased.messages,
                attachments=erased.attachments,
                # A second run racing this one deleted nothing: it claims no objects either.
                stored_objects=objects if erased.conversations else 0,
            )
        done += len(ids)
    run.stopped = (
        run.stopped
        or closed_conversations_next(workspace_id=workspace.pk, closed_before=before, limit=1) != []
    )


def _security_log(run: _Run, workspace_id: int, days: int, now: datetime) -> None:
    done = 0
    rows = security_log_rows(workspace_id=workspace_id, days=days, now=now)
    while size := run.size(done):
        ids = list(rows.order_by("id").values_list("id", flat=True)[:size])
        if not ids:
            return
        with transaction.atomic():
            deleted, _ = SecurityEvent.objects.filter(pk__in=ids).delete()
            run.add(**{SECURITY_LOGS: deleted})
        done += len(ids)
    run.stopped = run.stopped or rows.exists()


def _exports(run: _Run, workspace_id: int, days: int, now: datetime, store: ObjectStore) -> None:
    done = 0
    rows = export_rows(workspace_id=workspace_id, days=days, now=now)
    while size := run.size(done):
        exports = list(rows.order_by("id").only("id", "object_key")[:size])
        if not exports:
            return
        store.delete_many(e.object_key for e in exports if e.object_key)  # objects first
        with transaction.atomic():
            expired = rows.filter(pk__in=[e.pk for e in exports]).update(
                state=ExportState.EXPIRED, object_key=""
            )
            run.add(**{EXPORTS: expired})
        done += len(exports)
    run.stopped = run.stopped or rows.exists()


def _registered(run: _Run, category: str, workspace_id: int, before: datetime) -> None:
    """Another app's rows (the portal's sessions, the contacts), through `trupeo.retention`."""
    for purger in purgers(category):
        done = 0
        while size := run.size(done):
            with transaction.atomic():
                deleted = purger.purge(workspace_id, before, size)
                run.add(**{category: deleted})
            if not deleted:
                break
            done += deleted
        else:
            run.stopped = run.stopped or purger.count(workspace_id, before) > 0
