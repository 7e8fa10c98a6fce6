"""The deletion ledger: one small object per deleted workspace or account, in object storage.

It lives outside the database on purpose: restoring a database backup must never bring back
what was deleted after that backup was taken, so `manage.py restore` replays it
(`privacy.backups.ledger_replay`). An entry holds no content and no name: the kind, the id
and the creation time of what was deleted (so a replay never touches a newer row that
happens to reuse the id), and when it was deleted.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from trupeo.storage import ObjectStore, object_store

PREFIX = "ledger/"


@dataclass(frozen=True)
class LedgerEntry:
    kind: str  # "workspace" or "user"
    id: int
    created_at: datetime
    deleted_at: datetime

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "v": 1,
                "kind": self.kind,
                "id": self.id,
                "created_at": self.created_at.isoformat(),
                "deleted_at": self.deleted_at.isoformat(),
            }
        ).encode()


def ledger_append(
    *, kind: str, id: int, created_at: datetime, store: ObjectStore | None = None
) -> LedgerEntry:
    """Record a deletion, durably, before anything is destroyed."""
    if kind not in ("workspace", "user"):
        raise ValueError(f"unknown ledger kind {kind!r}")
    entry = LedgerEntry(kind=kind, id=id, created_at=created_at, deleted_at=timezone.now())
    # Sortable by time; the random tail keeps two deletions in the same microsecond apart.
    name = f"{PREFIX}{entry.deleted_at:%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"
    (store or object_store()).put(name, entry.as_json())
    return entry


def ledger_entries(*, store: ObjectStore | None = None) -> list[LedgerEntry]:
    store = store or object_store()
    entries = []
    for key in sorted(store.iter_keys(PREFIX)):
        data = json.loads(store.get(key))
        entries.append(
            LedgerEntry(
                kind=data["kind"],
                id=int(data["id"]),
                created_at=datetime.fromisoformat(data["created_at"]),
                deleted_at=datetime.fromisoformat(data["deleted_at"]),
            )
        )
    return entries
