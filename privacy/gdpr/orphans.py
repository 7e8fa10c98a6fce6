"""The orphan sweep: stored objects that no row references, removed once they are old enough.

A worker killed mid-batch, a full disk or a crash between writing objects and committing
their rows (and an erasure killed between deleting rows and their files) leaves sealed
objects nothing points at: unreadable to anyone without the workspace key, but kept in
storage against the promise that deleted data goes. The sweep lists every object under
`ws/`, keeps those younger than the margin (a batch or an export still being written has no
row yet), reads what the rows reference *after* the listing, and deletes the rest. A row
committed after the listing pointing at an object listed as old would need a write slower
than the margin (TRUPEO_ORPHAN_MARGIN_HOURS, 48 by default).

Objects of a workspace the deletion ledger records as deleted are all orphans. Objects of a
workspace this database does not know and the ledger does not record (a database restored
from an older backup, or another database pointed at this bucket) are left alone and logged:
the sweep never guesses. Nor does it touch a workspace whose key is gone (a deletion under
way) or whose references cannot be read.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Workspace
from inbox.mail.stored_objects import object_keys_referenced
from privacy.gdpr.ledger import ledger_entries
from privacy.models import DataExport
from trupeo.crypto import CryptoError
from trupeo.storage import ObjectStore, object_store

logger = logging.getLogger(__name__)

PREFIX = "ws/"


@dataclass(frozen=True)
class Swept:
    old: int  # objects older than the margin, looked at
    deleted: int  # of those, referenced by no row


def _referenced(workspace_id: int, deleted: set[int]) -> set[str] | None:
    """What the rows of the workspace reference; None when that cannot be known."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        if workspace_id in deleted:
            return set()
        logger.error(
            "orphan sweep: objects under ws/%s/ belong to a workspace this database does not "
            "know and the deletion ledger does not record: left alone",
            workspace_id,
        )
        return None
    if workspace.wrapped_key is None:
        return None  # being deleted: its whole prefix goes with it
    try:
        found = object_keys_referenced(workspace=workspace)
    except CryptoError as exc:
        logger.error(
            "orphan sweep: workspace %s skipped, a draft does not open: %s", workspace_id, exc
        )
        return None
    exports = DataExport.objects.filter(workspace=workspace).exclude(object_key="")
    found.update(exports.values_list("object_key", flat=True))
    return found


def orphans_sweep(
    *,
    store: ObjectStore | None = None,
    now: datetime | None = None,
    margin: timedelta | None = None,
) -> Swept:
    store = store or object_store()
    if margin is None:
        margin = timedelta(hours=settings.TRUPEO_ORPHAN_MARGIN_HOURS)
    cutoff = (now or timezone.now()) - margin
    old: dict[int, list[str]] = defaultdict(list)
    for obj in store.iter_objects(PREFIX):
        workspace_id = obj.key[len(PREFIX) :].partition("/")[0]
        if obj.modified_at < cutoff and workspace_id.isdigit():
            old[int(workspace_id)].append(obj.key)
    # The references are read after the listing, never before (see the module's docstring).
    gone = {e.id for e in ledger_entries(store=store) if e.kind == "workspace"} if old else set()
    deleted = 0
    for workspace_id, keys in old.items():
        referenced = _referenced(workspace_id, gone)
        if referenced is None:
            continue
        for key in keys:
            if key not in referenced:
                store.delete(key)
                deleted += 1
    checked = sum(len(keys) for keys in old.values())
    if deleted:
        logger.warning(
            "orphan sweep: %d of %d old object(s) were orphans, deleted", deleted, checked
        )
    return Swept(old=checked, deleted=deleted)
