"""The deletion ledger: one small object per deleted workspace, account or erased person, in
object storage.

It lives outside the database on purpose: restoring a database backup must never bring back
what was deleted after that backup was taken, so `manage.py restore` replays it
(`privacy.gdpr.backups.ledger_replay`). An entry holds no content and no name: the kind, the id
and the creation time of what was deleted (so a replay never touches a newer row that
happens to reuse the id), and when it was deleted. A person erased from a workspace is
recorded under the workspace's id and creation time with a keyed digest of their address and
its blind index tokens (`inbox.erasure.PersonReference`): never the address itself, and
nothing anyone can use without that workspace's key.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from trupeo.storage import ObjectStore, object_store

PREFIX = "ledger/"


KINDS = ("workspace", "user", "person")


@dataclass(frozen=True)
class LedgerEntry:
    kind: str  # one of KINDS; for "person", `id` and `created_at` are the workspace's
    id: int
    created_at: datetime
    deleted_at: datetime
    digest: str = ""  # "person" only: keyed digest of the address (HMAC, workspace key)
    tokens: tuple[int, ...] = ()  # "person" only: the address's blind index tokens

    def as_json(self) -> bytes:
        data = {
            "v": 1,
            "kind": self.kind,
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "deleted_at": self.deleted_at.isoformat(),
        }
        if self.kind == "person":
            data |= {"digest": self.digest, "tokens": list(self.tokens)}
        return json.dumps(data).encode()


def ledger_append(
    *,
    kind: str,
    id: int,
    created_at: datetime,
    digest: str = "",
    tokens: tuple[int, ...] = (),
    store: ObjectStore | None = None,
) -> LedgerEntry:
    """Record a deletion, durably, before anything is destroyed."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if (kind == "person") != bool(digest):
        raise ValueError("a person erasure, and only one, is recorded with a digest")
    entry = LedgerEntry(
        kind=kind,
        id=id,
        created_at=created_at,
        deleted_at=timezone.now(),
        digest=digest,
        tokens=tuple(tokens),
    )
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
                digest=data.get("digest", ""),
                tokens=tuple(int(t) for t in data.get("tokens", ())),
            )
        )
    return entries
