"""The orphan sweep: a sync worker SIGKILLed mid-batch leaves sealed objects that no row
references; the sweep removes exactly those once they are older than the margin, and none a
row references or that is younger (a batch still in flight)."""

import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from accounts.keys import keys_for
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sealing import stored_message_row
from inbox.mail.sending.drafts import outgoing_attach, outgoing_create
from inbox.mail.stored_objects import object_keys_referenced
from inbox.models import Mailbox, Message, OutgoingKind
from privacy.gdpr.ledger import ledger_append
from privacy.gdpr.orphans import orphans_sweep
from privacy.models import DataExport
from tests.factories import UserFactory, workspace_for
from tests.sync_worker import database_url, filled_mailbox, s3_bucket_use, sync_command, worker_env
from trupeo.storage import object_store, object_stores_forget, put_sealed, read_sealed

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = 240
MARGIN = timedelta(seconds=3)


def _stored(mailbox) -> int:
    return Message.objects.filter(mailbox=mailbox).count()


def _objects(workspace) -> set[str]:
    return set(object_store().iter_keys(f"ws/{workspace.pk}/"))


@contextmanager
def _message_writes_held() -> Iterator[None]:
    """Another connection holds the message table (PostgreSQL) or the database file (SQLite)
    against writers, so that a sync's rows wait while its objects are already stored."""
    if connection.vendor == "postgresql":
        with psycopg.connect(database_url(), autocommit=False) as other:
            other.execute("LOCK TABLE inbox_message IN EXCLUSIVE MODE")  # reads go on
            yield
            other.rollback()
        return
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


@pytest.fixture
def bucket(s3_server, settings):
    name = f"trupeo-orphans-{uuid.uuid4().hex[:12]}"
    s3_bucket_use(settings, s3_server, name)
    yield {
        "R2_BUCKET": name,
        "R2_ENDPOINT_URL": s3_server,
        "R2_REGION": "auto",
        "R2_ACCESS_KEY_ID": "test",
        "R2_SECRET_ACCESS_KEY": "test",
    }
    object_stores_forget()


@pytest.mark.django_db(transaction=True)
def test_a_sync_killed_mid_batch_leaves_orphans_that_the_sweep_removes(dovecot, workspace, bucket):
    mailbox = filled_mailbox(
        dovecot, workspace, "orphans", MESSAGES, body_words=200, sent_folder=True
    )
    env = worker_env(**bucket)
    command = sync_command(mailbox, batch_size=40)
    orphans: set[str] = set()
    for _attempt in range(3):
        # Its own session, so that the kill takes its forked preparers too: a child left alive
        # would write objects after they were counted.
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while worker.poll() is None and time.monotonic() < deadline and not _stored(mailbox):
            time.sleep(0.02)
        # A batch committed; the next ones stop at their rows while their objects get written.
        with _message_writes_held():
            while worker.poll() is None and time.monotonic() < deadline:
                if len(_objects(workspace)) > len(object_keys_referenced(workspace=workspace)):
                    break
                time.sleep(0.02)
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        time.sleep(0.5)  # an upload the storage server was still receiving
        Mailbox.objects.filter(pk=mailbox.pk).update(sync_lease_until=None)
        orphans = _objects(workspace) - object_keys_referenced(workspace=workspace)
        if orphans:
            break
    assert orphans, "no kill left an orphan: the test proves nothing"
    assert 0 < _stored(mailbox) < MESSAGES

    time.sleep(MARGIN.total_seconds() + 1)
    # A batch in flight: written just now, no row yet.
    keys = keys_for(workspace)
    in_flight = put_sealed(keys, [b"not committed yet"], field="message.raw", row="in-flight")
    referenced = object_keys_referenced(workspace=workspace)
    swept = orphans_sweep(margin=MARGIN)
    print(f"{len(orphans)} orphan(s) after the kill, {len(referenced)} referenced")
    assert swept.deleted == len(orphans)
    assert _objects(workspace) == referenced | {in_flight}
    for message in Message.objects.filter(mailbox=mailbox):  # whole and readable
        assert read_sealed(
            message.raw_object, keys, field="message.raw", row=stored_message_row(message)
        )

    # The sync then resumes: every message once, every row's object there.
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-2000:]
    assert _stored(mailbox) == MESSAGES
    store = object_store()
    assert all(store.exists(m.raw_object) for m in Message.objects.filter(mailbox=mailbox))


def test_the_sweep_keeps_drafts_files_exports_and_workspaces_being_deleted(
    workspace, alice, settings
):
    store = object_store()
    keys = keys_for(workspace)
    mailbox = mailbox_create(workspace=workspace, address="contact@lycee-verne.fr")
    draft = outgoing_create(
        mailbox=mailbox,
        conversation=None,
        author=alice,
        kind=OutgoingKind.NEW,
        to="parent@example.fr",
        subject="Pièce jointe",
    )
    outgoing_attach(
        outgoing=draft,
        filename="bulletin.pdf",
        content_type="application/pdf",
        size=4,
        chunks=[b"%PDF"],
    )
    export_key = put_sealed(keys, [b"zip"], field="export.archive", row="export:1")
    DataExport.objects.create(workspace=workspace, object_key=export_key, state="ready")
    orphan = put_sealed(keys, [b"orphan"], field="message.raw", row="lost")
    other = workspace_for(UserFactory(email="x@agence-ouest.fr"), "Agence Ouest")
    shredding = put_sealed(keys_for(other), [b"x"], field="message.raw", row="lost")
    type(other).objects.filter(pk=other.pk).update(wrapped_key=None)  # a deletion under way
    store.put("ws/999999/leftover", b"ciphertext of a deleted workspace")
    ledger_append(kind="workspace", id=999999, created_at=datetime.now(UTC))
    store.put("ws/888888/unknown", b"a workspace neither here nor in the ledger")
    kept = _objects(workspace) - {orphan}
    assert len(kept) == 2  # the draft's file and the export

    now = datetime.now(UTC)
    assert orphans_sweep(now=now, margin=timedelta(hours=1)).deleted == 0  # all too young
    swept = orphans_sweep(now=now + timedelta(hours=2), margin=timedelta(hours=1))
    assert swept.deleted == 2  # the orphan and the deleted workspace's leftover
    assert _objects(workspace) == kept
    assert store.exists(shredding)  # left to the workspace's deletion
    assert not store.exists("ws/999999/leftover")
    # Not known here and never deleted: another database's, or a newer one's. Never guessed.
    assert store.exists("ws/888888/unknown")
