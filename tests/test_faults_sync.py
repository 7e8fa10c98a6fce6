"""Our own parts failing during a sync, on real parts: the PostgreSQL connection terminated
mid-sync, the disk refusing writes mid-sync. Each is recorded in words as our fault (never
the mail server's), the lease is released, and the next pass stores every message once."""

import errno
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone, translation

from inbox.mail.health import mailbox_health
from inbox.mail.imap import describe
from inbox.mail.sync import mailbox_sync
from inbox.models import Mailbox, Message
from tests.mail import french_message
from tests.parts import free_loopback_port, require_part
from tests.sync_worker import (
    filled_mailbox,
    s3_bucket_create,
    sync_command,
    worker_env,
)

ROOT = Path(__file__).resolve().parent.parent
MAIL_SERVER_BLAME = (
    "IMAP server",
    "serveur IMAP",
    "could not be reached",
    "answered with an error",
)


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        require_part("postgresql", "this fault needs a PostgreSQL server (DATABASE_URL)")


def _assert_stored_once(mailbox: Mailbox, count: int) -> None:
    keys = list(Message.objects.filter(mailbox=mailbox).values_list("provider_key", flat=True))
    assert len(keys) == count
    assert len(set(keys)) == count  # by provider identity: nothing twice


def _says(text: str, *phrases: str) -> bool:
    return any(phrase in text for phrase in phrases)


# The sync records its sentence in the worker's language (French by default), or English.
DATABASE_LOST = ("lost the connection to its own database", "perdu la connexion à sa propre base")
STORAGE = ("could not write to its own file storage", "pas pu écrire dans son propre stockage")


def _assert_our_fault(mailbox: Mailbox, words: tuple[str, ...], *internal: str) -> None:
    mailbox.refresh_from_db()
    assert _says(mailbox.last_error, *words), mailbox.last_error
    assert _says(mailbox.last_error, "not a problem with the mail server", "n’y est pour rien")
    assert _says(mailbox.last_error, "resumes where this one stopped", "reprendra là où")
    for blame in MAIL_SERVER_BLAME:
        assert blame not in mailbox.last_error
    for secret in internal:
        assert secret not in mailbox.last_error
    # Released at once: the next pass does not wait for the lease to expire.
    assert mailbox.sync_lease_until is None and mailbox.sync_lease_owner == ""
    health = mailbox_health(mailbox, timezone.now())
    assert health.level == "failing" and health.error_is_current


@pytest.mark.django_db(transaction=True)
def test_database_connection_terminated_mid_sync(dovecot, workspace, alice_client, settings):
    _require_postgresql()
    total = 240
    mailbox = filled_mailbox(dovecot, workspace, "coupure", total)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (sync_pid,) = cursor.fetchone()
    stored_when_killed: list[int] = []

    def kill_when_half_stored() -> None:
        # Another connection (this thread's own) watches, then terminates the sync's backend.
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                stored = Message.objects.filter(mailbox=mailbox).count()
                if stored >= 40:
                    with connections["default"].cursor() as cursor:
                        cursor.execute("SELECT pg_terminate_backend(%s)", [sync_pid])
                    stored_when_killed.append(stored)
                    return
                time.sleep(0.01)
        finally:
            connections.close_all()

    killer = threading.Thread(target=kill_when_half_stored)
    killer.start()
    summary = mailbox_sync(mailbox_id=mailbox.pk, batch_size=10, parallel=False)
    killer.join()
    assert stored_when_killed and stored_when_killed[0] < total, "not killed mid-sync"
    assert not summary.ok
    db = connection.settings_dict
    _assert_our_fault(mailbox, DATABASE_LOST, str(db["PORT"]), db["NAME"])
    assert 0 < Message.objects.filter(mailbox=mailbox).count() < total

    # The admin reads it on the mailboxes page, in words.
    page = alice_client.get(reverse("mailboxes")).content.decode()
    assert _says(page, *DATABASE_LOST)

    again = mailbox_sync(mailbox_id=mailbox.pk, batch_size=10, parallel=False)
    assert again.ok, again.error
    _assert_stored_once(mailbox, total)
    mailbox.refresh_from_db()
    assert mailbox_health(mailbox, timezone.now()).level == "ok"


def _limit_file_size(limit: int):
    def apply() -> None:
        # A file may not grow past `limit` bytes: writes fail with EFBIG, as on a full disk
        # they fail with ENOSPC (and the signal that would kill the process is ignored).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.django_db(transaction=True)
def test_storage_refusing_writes_mid_sync_is_a_storage_fault(dovecot, workspace, settings):
    # The database must be another process (PostgreSQL): the file-size limit is the worker's.
    _require_postgresql()
    total = 30
    mailbox = filled_mailbox(dovecot, workspace, "disque", total, body_words=60)
    # One message large enough that its sealed copy cannot be written under the limit.
    with dovecot.connect(mailbox.imap_username) as imap:
        imap.append("INBOX", french_message(total, body_words=40_000))
    total += 1
    env = worker_env()
    command = sync_command(mailbox, batch_size=5)
    full = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        preexec_fn=_limit_file_size(64 * 1024),
        timeout=300,
    )
    output = full.stdout.decode() + full.stderr.decode()
    assert _says(output, *STORAGE), output
    _assert_our_fault(mailbox, STORAGE, str(settings.DATA_DIR))
    assert Message.objects.filter(mailbox=mailbox).count() < total

    # Room again: the next pass stores what was missing, nothing twice.
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()
    _assert_stored_once(mailbox, total)
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


@translation.override("en")
def test_our_parts_failing_are_never_the_mail_servers_fault():
    """Real errors from each of our parts, described as a sync or a send would."""
    port = free_loopback_port()  # nothing listens there
    errors = []
    try:
        psycopg.connect(f"postgresql://trupeo@127.0.0.1:{port}/trupeo", connect_timeout=2)
    except psycopg.OperationalError as error:
        errors.append(("lost the connection to its own database", error))
    try:
        redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        errors.append(("internal task queue", error))
    try:
        with open("/dev/full", "wb") as full:  # the kernel's always-full device: ENOSPC
            full.write(b"x" * 4096)
            full.flush()
    except OSError as error:
        assert error.errno == errno.ENOSPC
        errors.append(("could not write to its own file storage", error))
    assert len(errors) == 3
    for words, error in errors:
        for protocol in ("IMAP", "SMTP"):
            sentence = describe(error, host="imap.lycee-verne.fr", protocol=protocol)
            assert words in sentence, sentence
            assert "imap.lycee-verne.fr" not in sentence  # not the mail server's fault
            assert str(port) not in sentence and "127.0.0.1" not in sentence  # nothing internal
    # A bug of ours is not the server's either, and its text (internal details) is not shown.
    sentence = describe(KeyError(settings.DATA_DIR), host="imap.lycee-verne.fr", protocol="IMAP")
    assert "internal error" in sentence and str(settings.DATA_DIR) not in sentence


@pytest.mark.django_db(transaction=True)
def test_object_store_unreachable_is_a_storage_fault(dovecot, workspace, settings, s3_server):
    dead_port = free_loopback_port()  # nothing listens there: every upload is refused
    settings.R2_BUCKET = "trupeo-faults"
    settings.R2_ENDPOINT_URL = f"http://127.0.0.1:{dead_port}"
    settings.R2_ACCESS_KEY_ID = settings.R2_SECRET_ACCESS_KEY = "test"
    settings.R2_REGION = "auto"
    total = 12
    mailbox = filled_mailbox(dovecot, workspace, "objets", total)
    summary = mailbox_sync(mailbox_id=mailbox.pk, batch_size=5, parallel=False)
    assert not summary.ok
    _assert_our_fault(mailbox, STORAGE, str(dead_port), "127.0.0.1", "trupeo-faults")

    # The store is back (the real S3 endpoint): the next pass stores every message once.
    s3_bucket_create(s3_server, "trupeo-faults")
    settings.R2_ENDPOINT_URL = s3_server
    again = mailbox_sync(mailbox_id=mailbox.pk, batch_size=5, parallel=False)
    assert again.ok, again.error
    _assert_stored_once(mailbox, total)
