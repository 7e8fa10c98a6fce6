"""Encrypted database backups, their 30-day retention, and restoring one.

`backup_create` streams a dump of the database (PostgreSQL: `pg_dump --format=custom`;
SQLite: an online copy of the file) through AES-256-GCM into object storage under
`backups/`, so no clear copy is ever written to storage.

Each backup is sealed under its own random data key, kept wrapped by the master key in the
key register (`privacy.gdpr.backup_keys`, outside the dumps). `backup_prune` destroys the keys of
the backups older than TRUPEO_BACKUP_DAYS (30), then deletes those backups: a copy that
escaped the prune cannot be read either, which completes the crypto-shredding of deleted
workspaces and erased people (their rows still sit in those dumps). The prune runs hourly on
its own (`privacy.tasks.prune_backups`) and after every backup attempt, failed or not.

`backup_restore` decrypts a backup into the database, then replays the deletion ledger
(`privacy.gdpr.ledger`, kept in object storage, outside the dump): a workspace or account deleted,
or a person erased, after the backup was taken is deleted again at once.

Object layout: MAGIC | len(data key id) (1) | data key id | sealed stream (see
trupeo.crypto.BlobCipher). Backups of the first format (MAGIC_V1, a key derived from the
master key named in the header) are still read until they expire.
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

from accounts import workspace_lists
from privacy.gdpr.backup_keys import (
    PRUNE_LEAD,
    BackupKeyUnavailable,
    backup_key_create,
    backup_key_discard,
    backup_key_open,
    backup_keys_destroy_expired,
)
from trupeo.crypto import KEY_SIZE, BlobCipher, CryptoError, master_key_ring
from trupeo.storage import READ_CHUNK, ObjectStore, object_store

logger = logging.getLogger(__name__)

PREFIX = "backups/"
MAGIC = b"TRUPEO-BACKUP-2\n"
MAGIC_V1 = b"TRUPEO-BACKUP-1\n"
_STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """A backup or a restore could not be completed; nothing was kept or changed half-way."""


def _cipher(data_key: bytes, key_id: str, engine: str) -> BlobCipher:
    return BlobCipher(data_key, b"trupeo/backup|" + engine.encode("ascii") + b"|" + key_id.encode())


def _cipher_v1(key_id: str, engine: str) -> BlobCipher:
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
    now = timezone.now()
    key = f"{PREFIX}{now.astimezone(UTC):{_STAMP}}-{engine}"
    key_id, data_key = backup_key_create(backup=key, taken_at=now, store=store)
    header = MAGIC + bytes([len(key_id)]) + key_id.encode("ascii")
    try:
        with _dump(engine) as chunks:
            sealed = _cipher(data_key, key_id, engine).seal(chunks)
            store.put_stream(key, _chain([header], sealed))
    except BaseException:
        backup_key_discard(key_id=key_id, store=store)  # nothing was kept: put is all-or-nothing
        raise
    logger.info("backup written to %s", key)
    return Backup(key=key, taken_at=now, engine=engine)


@dataclass(frozen=True)
class Pruned:
    keys: int  # data keys destroyed
    backups: int  # backup objects deleted


def backup_prune(*, store: ObjectStore | None = None, now: datetime | None = None) -> Pruned:
    """Destroy the data keys of the expired backups, then delete every expired backup."""
    store = store or object_store()
    now = now or timezone.now()
    expired = set(backup_keys_destroy_expired(store=store, now=now))
    # By their name's date too: backups of the first format have no key in the register.
    limit = now - timedelta(days=settings.TRUPEO_BACKUP_DAYS) + PRUNE_LEAD
    old = [b.key for b in backup_list(store=store) if b.taken_at < limit or b.key in expired]
    for key in old:
        store.delete(key)
    if expired or old:
        logger.info(
            "backups pruned: %d key(s) destroyed, %d backup(s) deleted", len(expired), len(old)
        )
    return Pruned(keys=len(expired), backups=len(old))


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


def backup_open(
    chunks: Iterable[bytes], *, name: str, engine: str, store: ObjectStore
) -> Iterator[bytes]:
    """The decrypted dump from a backup's bytes (from storage, or a copy kept elsewhere).

    BackupError, in words, when it cannot be read: not a backup, or its key is gone.
    """
    stream = iter(chunks)
    head = b""
    for chunk in stream:
        head += chunk
        if len(head) >= len(MAGIC) + 1 and len(head) >= len(MAGIC) + 1 + head[len(MAGIC)]:
            break
    magic = head[: len(MAGIC)]
    if magic not in (MAGIC, MAGIC_V1) or len(head) < len(MAGIC) + 1:
        raise BackupError(f"{name} is not a Trupeo backup")
    size = head[len(MAGIC)]
    start = len(MAGIC) + 1
    key_id = head[start : start + size].decode("ascii")
    rest = [head[start + size :]]
    if magic == MAGIC:
        try:
            data_key = backup_key_open(key_id=key_id, name=name, store=store)
        except BackupKeyUnavailable as exc:
            raise BackupError(str(exc)) from None
        return _cipher(data_key, key_id, engine).open(_chain(rest, stream))
    if key_id not in master_key_ring():
        raise BackupError(
            f"{name} was made under master key {key_id!r}, which is no longer configured: "
            "it cannot be read (expired backups are unreadable by design)"
        )
    return _cipher_v1(key_id, engine).open(_chain(rest, stream))


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
    plaintext = backup_open(store.open_stream(key), name=key, engine=engine, store=store)
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
    workspace_lists.bump_all_past(time.time_ns() // 1000)
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
    from privacy.gdpr.deletion import account_delete, person_erase_replay, workspace_delete
    from privacy.gdpr.ledger import ledger_entries

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
