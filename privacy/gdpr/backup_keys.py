"""The backup key register: one random data key per backup, destroyed when the backup expires.

Each backup is sealed under its own fresh key. The key is kept wrapped by the master key in
a small object under `backup-keys/<id>`, beside the deletion ledger and outside every dump
(a register inside the database would be inside the backups it unlocks). When a backup
expires the prune overwrites its record with a tombstone that says when the key was
destroyed: from then on no copy of that backup (a replica, a download, a forgotten disk)
can be read, whatever master keys are still configured. The tombstone stays, so a restore
of such a copy can say why it fails.

A bucket with object versioning would keep the overwritten record: the backup bucket must
not have it (Cloudflare R2 has none).
"""

import base64
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from trupeo.crypto import KEY_SIZE, CryptoError, unwrap_key, wrap_key
from trupeo.storage import ObjectNotFound, ObjectStore

logger = logging.getLogger(__name__)

PREFIX = "backup-keys/"
# The prune runs every hour: keys go this much early, so none outlives the retention period.
PRUNE_LEAD = timedelta(hours=2)


class BackupKeyUnavailable(Exception):
    """The data key of a backup cannot be had; the message says why, in words."""


@dataclass(frozen=True)
class BackupKey:
    id: str
    backup: str  # the object name the backup was written under
    taken_at: datetime
    wrapped: bytes | None  # None once destroyed
    destroyed_at: datetime | None

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "v": 1,
                "id": self.id,
                "backup": self.backup,
                "taken_at": self.taken_at.isoformat(),
                "wrapped": base64.b64encode(self.wrapped).decode() if self.wrapped else None,
                "destroyed_at": self.destroyed_at.isoformat() if self.destroyed_at else None,
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "BackupKey":
        record = json.loads(data)
        return cls(
            id=record["id"],
            backup=record["backup"],
            taken_at=datetime.fromisoformat(record["taken_at"]),
            wrapped=base64.b64decode(record["wrapped"]) if record.get("wrapped") else None,
            destroyed_at=(
                datetime.fromisoformat(record["destroyed_at"])
                if record.get("destroyed_at")
                else None
            ),
        )

    @property
    def expires_at(self) -> datetime:
        return self.taken_at + timedelta(days=settings.TRUPEO_BACKUP_DAYS)


def _purpose(key_id: str) -> bytes:
    return b"trupeo/backup-key|" + key_id.encode("ascii")


def backup_key_create(*, backup: str, taken_at: datetime, store: ObjectStore) -> tuple[str, bytes]:
    """A fresh data key for a new backup, registered (wrapped) before anything is sealed."""
    key_id = secrets.token_hex(16)
    raw = secrets.token_bytes(KEY_SIZE)
    record = BackupKey(
        id=key_id,
        backup=backup,
        taken_at=taken_at,
        wrapped=wrap_key(raw, purpose=_purpose(key_id)),
        destroyed_at=None,
    )
    store.put(PREFIX + key_id, record.as_json())
    return key_id, raw


def backup_key_discard(*, key_id: str, store: ObjectStore) -> None:
    """Forget the key of a backup that failed before it was written."""
    store.delete(PREFIX + key_id)


def backup_key_open(*, key_id: str, name: str, store: ObjectStore) -> bytes:
    """The data key of backup `name`, or BackupKeyUnavailable saying why not."""
    try:
        record = BackupKey.from_json(store.get(PREFIX + key_id))
    except (ObjectNotFound, ValueError, KeyError):
        raise BackupKeyUnavailable(
            f"{name} cannot be read: its data key ({key_id}) is not in the key register "
            f"({PREFIX}), so it was never completed or the register was lost"
        ) from None
    if record.wrapped is None:
        raise BackupKeyUnavailable(
            f"{name} cannot be read: it was taken on {record.taken_at:%Y-%m-%d %H:%M} UTC and "
            f"its data key was destroyed on {record.destroyed_at:%Y-%m-%d %H:%M} UTC, when it "
            f"expired (backups are kept {settings.TRUPEO_BACKUP_DAYS} days)"
        )
    if record.expires_at - PRUNE_LEAD <= timezone.now():
        raise BackupKeyUnavailable(
            f"{name} cannot be restored: it expired on {record.expires_at:%Y-%m-%d %H:%M} UTC "
            "and its data key is destroyed at the next prune"
        )
    try:
        return unwrap_key(record.wrapped, purpose=_purpose(key_id))
    except CryptoError as exc:
        raise BackupKeyUnavailable(
            f"{name} cannot be read: its data key does not unwrap: {exc}"
        ) from None


def backup_keys_destroy_expired(*, store: ObjectStore, now: datetime | None = None) -> list[str]:
    """Destroy the data keys of the expired backups; returns the names of those backups."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TRUPEO_BACKUP_DAYS) + PRUNE_LEAD
    destroyed = []
    for name in sorted(store.iter_keys(PREFIX)):
        try:
            record = BackupKey.from_json(store.get(name))
        except ObjectNotFound:
            continue  # discarded meanwhile
        except (ValueError, KeyError):
            logger.error("backup key register: %s is not a key record; left alone", name)
            continue
        if record.wrapped is None or record.taken_at >= cutoff:
            continue
        # Overwritten in place: the wrapped key is gone the moment the write returns.
        tombstone = BackupKey(
            id=record.id,
            backup=record.backup,
            taken_at=record.taken_at,
            wrapped=None,
            destroyed_at=datetime.now(UTC),
        )
        store.put(name, tombstone.as_json())
        destroyed.append(record.backup)
    return destroyed
