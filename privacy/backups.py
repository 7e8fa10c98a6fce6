"""Encrypted database backups, their 30-day retention, and restoring one.

`backup_create` streams a dump of the database (PostgreSQL: `pg_dump --format=custom`;
SQLite: an online copy of the file) through AES-256-GCM into object storage under
`backups/`, so no clear copy is ever written to storage. Then backups older than
TRUPEO_BACKUP_DAYS (30) are deleted.

The backup key is derived with HKDF-SHA256 from the newest master key (and its id), and the
id is written in clear at the head of the object so a restore knows which master key to use.
Consequences, on purpose: a backup is readable exactly as long as its master key is still
listed in TRUPEO_MASTER_KEYS; retiring a master key once every backup made under it has
expired makes old copies unreadable, which completes the crypto-shredding of deleted
workspaces (their wrapped keys still sit in those dumps).

`backup_restore` decrypts a backup into the database, then replays the deletion ledger
(`privacy.ledger`, kept in object storage, outside the dump): a workspace or account deleted
after the backup was taken is deleted again at once.

Object layout: MAGIC | len(key id) (1) | key id | sealed stream (see trupeo.crypto.BlobCipher).
"""

import contextlib
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from accounts import directory
from trupeo.crypto import KEY_SIZE, BlobCipher, CryptoError, master_key_ring
from trupeo.storage import READ_CHUNK, ObjectStore, object_store

logger = logging.getLogger(__name__)

PREFIX = "backups/"
MAGIC = b"TRUPEO-BACKUP-1\n"
_STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """A backup or a restore could not be completed; nothing was kept or changed half-way."""


def _cipher(key_id: str, engine: str) -> BlobCipher:
    master = master_key_ring().get(key_id)
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_SIZE,
        salt=b"trupeo/backup",
        info=b"trupeo/backup/" + key_id.encode("ascii"),
    ).derive(master.key)
    return BlobCipher(key, b"trupeo/backup|" + engine.encode("ascii"))


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


@dataclass(frozen=True)
class Backup:
    key: str
    taken_at: datetime
    engine: str


def backup_list(*, store: ObjectStore | None = None) -> list[Backup]:
    found = []
    for key in (store or object_store()).iter_keys(PREFIX):
        stamp, _, engine = key[len(PREFIX) :].partition("-")
        try:
            taken_at = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
        except ValueError:
            continue  # not one of ours
        found.append(Backup(key=key, taken_at=taken_at, engine=engine))
    return sorted(found, key=lambda b: b.taken_at)


def backup_create(*, store: ObjectStore | None = None) -> Backup:
    store = store or object_store()
    engine = _engine()
    master = master_key_ring().newest
    now = timezone.now()
    key = f"{PREFIX}{now.astimezone(UTC):{_STAMP}}-{engine}"
    header = MAGIC + bytes([len(master.id)]) + master.id.encode("ascii")
    with _dump(engine) as chunks:
        sealed = _cipher(master.id, engine).seal(chunks)
        store.put_stream(key, _chain([header], sealed))
    logger.info("backup written to %s", key)
    return Backup(key=key, taken_at=now, engine=engine)


def backup_prune(*, store: ObjectStore | None = None, now: datetime | None = None) -> int:
    """Delete the backups older than the retention period; returns how many."""
    store = store or object_store()
    limit = (now or timezone.now()) - timedelta(days=settings.TRUPEO_BACKUP_DAYS)
    old = [b for b in backup_list(store=store) if b.taken_at < limit]
    for backup in old:
        store.delete(backup.key)
    return len(old)


def _chain(*parts: Iterable[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part


@contextlib.contextmanager
def _dump(engine: str):
    if engine == "postgresql":
        with _pg_dump() as chunks:
            yield chunks
    else:
        with _sqlite_copy() as chunks:
            yield chunks


def _program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt install postgresql-client)")
    return path


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = []
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])  # never on the command line
    return [*args, "--no-password", "--dbname", str(db["NAME"])], env


@contextlib.contextmanager
def _pg_dump():
    args, env = _pg_env()
    process = subprocess.Popen(  # noqa: S603 — fixed program, arguments from settings
        [_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )

    def chunks() -> Iterator[bytes]:
        while data := process.stdout.read(READ_CHUNK):
            yield data
        # Checked before the last chunk is handed over, so a failed dump aborts the upload.
        if process.wait() != 0:
            raise BackupError(f"pg_dump failed: {process.stderr.read().decode()[-500:]}")

    try:
        yield chunks()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def _sqlite_path() -> Path:
    return Path(settings.DATABASES["default"]["NAME"])


def _live_sqlite_path() -> Path:
    # During tests Django swaps in the test database: the connection knows the real file.
    return Path(connection.settings_dict["NAME"])


@contextlib.contextmanager
def _sqlite_copy():
    with tempfile.TemporaryDirectory(prefix="trupeo-backup-") as folder:
        copy = Path(folder) / "copy.sqlite3"
        source = sqlite3.connect(_live_sqlite_path())
        target = sqlite3.connect(copy)
        try:
            source.backup(target)  # consistent even while the site writes
        finally:
            target.close()
            source.close()

        def chunks() -> Iterator[bytes]:
            with copy.open("rb") as handle:
                while data := handle.read(READ_CHUNK):
                    yield data

        yield chunks()


# --- restore ------------------------------------------------------------------------------


def _open_backup(key: str, store: ObjectStore, engine: str) -> Iterator[bytes]:
    stream = store.open_stream(key)
    head = b""
    rest: list[bytes] = []
    for chunk in stream:
        head += chunk
        if len(head) >= len(MAGIC) + 1 and len(head) >= len(MAGIC) + 1 + head[len(MAGIC)]:
            break
    if not head.startswith(MAGIC) or len(head) < len(MAGIC) + 1:
        raise BackupError(f"{key} is not a Trupeo backup")
    size = head[len(MAGIC)]
    start = len(MAGIC) + 1
    key_id = head[start : start + size].decode("ascii")
    if key_id not in master_key_ring():
        raise BackupError(
            f"{key} was made under master key {key_id!r}, which is no longer configured: "
            "it cannot be read (expired backups are unreadable by design)"
        )
    rest = [head[start + size :]]
    return _cipher(key_id, engine).open(_chain(rest, stream))


def backup_restore(*, key: str, store: ObjectStore | None = None) -> dict:
    """Replace the database with a backup, then replay the deletion ledger."""
    store = store or object_store()
    engine = _engine()
    if not key.startswith(PREFIX):
        key = PREFIX + key
    backup = next((b for b in backup_list(store=store) if b.key == key), None)
    if backup is None:
        raise BackupError(f"no backup named {key}")
    if backup.engine != engine:
        raise BackupError(f"{key} is a {backup.engine} backup; this database is {engine}")
    plaintext = _open_backup(key, store, engine)
    connections.close_all()
    try:
        if engine == "postgresql":
            _pg_restore(plaintext)
        else:
            _sqlite_restore(plaintext)
    except CryptoError as exc:
        raise BackupError(f"{key} failed to decrypt: {exc}") from None
    connections.close_all()
    replayed = ledger_replay(store=store)
    # Running web workers keep each workspace's lists by version number; the restored numbers
    # are older ones, so they jump past anything a worker may hold.
    directory.bump_all_past(time.time_ns() // 1000)
    return {"backup": key, "replayed": replayed}


def _pg_restore(plaintext: Iterator[bytes]) -> None:
    """Stream the decrypted dump into pg_restore, in one transaction.

    If the backup fails to authenticate at any point, pg_restore is killed before it can
    commit: its transaction is rolled back and the database is left as it was.
    """
    args, env = _pg_env()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 — fixed program, arguments from settings
            [
                _program("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                *args,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        try:
            for chunk in plaintext:
                process.stdin.write(chunk)
        except BrokenPipeError:
            pass  # pg_restore stopped early: its exit status says why
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        code = process.wait()
        if code != 0:
            errors.seek(0)
            raise BackupError(f"pg_restore failed: {errors.read().decode()[-800:]}")


def _sqlite_restore(plaintext: Iterator[bytes]) -> None:
    with tempfile.TemporaryDirectory(prefix="trupeo-restore-") as folder:
        copy = Path(folder) / "restore.sqlite3"
        with copy.open("wb") as handle:
            for chunk in plaintext:
                handle.write(chunk)
        source = sqlite3.connect(copy)
        target = sqlite3.connect(_live_sqlite_path())
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()


def ledger_replay(*, store: ObjectStore | None = None) -> int:
    """Delete again whatever the ledger says was deleted; returns how many were found."""
    from accounts.models import User, Workspace
    from inbox.erasure import PersonReference
    from privacy.deletion import account_delete, person_erase_replay, workspace_delete
    from privacy.ledger import ledger_entries

    store = store or object_store()
    replayed = 0
    for entry in ledger_entries(store=store):
        if entry.kind == "workspace":
            workspace = Workspace.objects.filter(pk=entry.id).first()
            if workspace and _same(workspace.created_at, entry.created_at):
                workspace_delete(
                    workspace=workspace, actor=None, store=store, record=False, notify=False
                )
                replayed += 1
        elif entry.kind == "user":
            user = User.objects.filter(pk=entry.id).first()
            if user and _same(user.date_joined, entry.created_at):
                # No ownership check: the account is gone for good. A workspace it still
                # owns in this older copy was transferred after the backup; it is logged.
                account_delete(user=user, store=store, record=False, notify=False, check=False)
                replayed += 1
        elif entry.kind == "person":
            workspace = Workspace.objects.filter(pk=entry.id).first()
            if (
                workspace
                and workspace.wrapped_key
                and _same(workspace.created_at, entry.created_at)
            ):
                erased = person_erase_replay(
                    workspace=workspace,
                    person=PersonReference(digest=entry.digest, tokens=entry.tokens),
                    erased_at=entry.deleted_at,
                    store=store,
                )
                replayed += bool(erased.messages or erased.outgoing)
    return replayed


def _same(a: datetime, b: datetime) -> bool:
    """The same row, not a newer one that reuses the id after a restore rewound sequences."""
    return abs((a - b).total_seconds()) < 1
