"""Encrypted backups and restore-replay, for real: separate `manage.py` processes on a
scratch PostgreSQL database (and on a SQLite file), sharing one object store."""

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.parts import require_part

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"

SETUP = """
from accounts import services
from accounts.models import User
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import FolderRole
for name, email in (("Espace Alpha", "alpha@example.fr"), ("Espace Beta", "beta@example.fr")):
    owner = User.objects.create_user(email, "un-mot-de-passe-solide")
    ws = services.workspace_create(name=name, slug=services.unique_slug(name), owner=owner)
    box = mailbox_create(workspace=ws, address=f"contact@{ws.slug}.fr")
    inbox = box.folders.get(role=FolderRole.INBOX)
    raw = (f"From: client@example.fr\\r\\nTo: {box.address}\\r\\nSubject: Secret {name}\\r\\n"
           f"Message-ID: <{ws.slug}@example.fr>\\r\\n\\r\\nCorps confidentiel {name}\\r\\n").encode()
    ingest_batch(mailbox=box, folder=inbox, mails=[RawMail(f"{inbox.pk}:1:1", raw)])
    print(ws.slug, ws.pk)
"""

CHECK = """
from accounts.keys import keys_for
from accounts.models import User, Workspace
from inbox.models import Message
from inbox.mail.sealing import stored_message_row
from trupeo.storage import read_sealed
print("workspaces", sorted(Workspace.objects.values_list("slug", flat=True)))
print("users", sorted(User.objects.values_list("email", flat=True)))
for m in Message.objects.select_related("workspace"):
    raw = read_sealed(m.raw_object, keys_for(m.workspace), field="message.raw",
                      row=stored_message_row(m))
    print("readable", m.workspace.slug, b"Corps confidentiel" in raw)
"""


def _pg_available() -> bool:
    if not shutil.which("pg_dump") or not shutil.which("psql"):
        return False
    result = subprocess.run(["psql", PG_ADMIN, "-c", "select 1"], capture_output=True, check=False)
    return result.returncode == 0


@pytest.fixture
def folder():
    """A private folder: pytest's shared tmp root can be cleaned by a concurrent session while
    these slow, multi-process tests run."""
    path = Path(tempfile.mkdtemp(prefix="trupeo-restore-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def scratch(folder, request):
    tmp_path = folder
    engine = request.param
    env = {
        **os.environ,
        "TRUPEO_DATA_DIR": str(tmp_path / "data"),
        "DEBUG": "False",
        "CELERY_TASK_ALWAYS_EAGER": "True",
    }
    env.pop("REDIS_URL", None)
    if engine == "postgresql":
        if not _pg_available():
            require_part("postgresql", "no PostgreSQL on 127.0.0.1:5432")
        name = f"trupeo_privacy_restore_{os.getpid()}"
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True
        )
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
        yield env
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name],
            check=False,
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        yield env


def manage(env, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize("scratch", ["postgresql", "sqlite"], indirect=True)
def test_a_restored_backup_never_brings_a_deleted_workspace_back(scratch, folder):
    tmp_path = folder
    env = scratch
    manage(env, "migrate", "--no-input", "-v", "0")
    lines = [line.split() for line in manage(env, "shell", "-c", SETUP).splitlines()]
    created = {parts[0]: parts[1] for parts in lines if len(parts) == 2 and parts[1].isdigit()}
    assert len(created) == 2, lines
    alpha, beta = sorted(created)

    out = manage(env, "backup")
    key = out.split("Backup written: ")[1].split()[0]
    objects = tmp_path / "data" / "objects"
    stored = b"".join(p.read_bytes() for p in (objects / "backups").rglob("*.obj"))
    assert stored.startswith(b"TRUPEO-BACKUP-2\n")
    assert b"Espace Alpha" not in stored and b"alpha@example.fr" not in stored  # sealed

    manage(env, "workspace_delete", alpha, "--yes")
    assert not list((objects / "ws" / created[alpha]).rglob("*.obj"))
    before = manage(env, "shell", "-c", CHECK)
    assert f"workspaces ['{beta}']" in before

    version = f"from accounts.models import Workspace; print(Workspace.objects.get(slug='{beta}').directory_version)"
    version_before = int(manage(env, "shell", "-c", version).split()[-1])
    out = manage(env, "restore", key, "--yes")
    assert "Deletions replayed from the ledger: 1" in out
    # Running web workers keep the lists by version: the restored, older numbers jump past
    # anything they may hold.
    assert int(manage(env, "shell", "-c", version).split()[-1]) > version_before + 10**15
    after = manage(env, "shell", "-c", CHECK)
    assert f"workspaces ['{beta}']" in after  # alpha stayed deleted
    assert f"readable {beta} True" in after  # beta is back whole and readable
    assert "alpha@example.fr" in after  # the owner's account was not deleted: only the workspace
    assert "readable espace-alpha" not in after

    # A second restore of the same backup: still gone, and nothing else touched.
    manage(env, "restore", key, "--yes")
    assert manage(env, "shell", "-c", CHECK) == after


@pytest.mark.parametrize("scratch", ["sqlite"], indirect=True)
def test_a_tampered_backup_is_refused_and_changes_nothing(scratch, folder):
    tmp_path = folder
    env = scratch
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "shell", "-c", SETUP)
    key = manage(env, "backup").split("Backup written: ")[1].split()[0]
    path = next((tmp_path / "data" / "objects" / "backups").rglob("*.obj"))
    data = bytearray(path.read_bytes())
    data[-40] ^= 1
    path.write_bytes(bytes(data))
    before = manage(env, "shell", "-c", CHECK)
    result = subprocess.run(
        [sys.executable, "manage.py", "restore", key, "--yes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "failed" in result.stderr.lower() or "authentication" in result.stderr.lower()
    assert manage(env, "shell", "-c", CHECK) == before


def test_backups_older_than_30_days_are_pruned(db, settings):
    from privacy.gdpr.backups import Pruned, backup_create, backup_list, backup_prune
    from trupeo.storage import object_store

    store = object_store()
    store.put("backups/20200101T000000Z-sqlite", b"old")
    fresh = backup_create()
    assert [b.key for b in backup_list()][-1] == fresh.key
    assert backup_prune(now=datetime.now(UTC)).backups == 1  # an old one, of the first format
    assert [b.key for b in backup_list()] == [fresh.key]
    later = datetime.now(UTC) + timedelta(days=settings.TRUPEO_BACKUP_DAYS + 1)
    assert backup_prune(now=later) == Pruned(keys=1, backups=1)
    assert backup_list() == []


PERSON_SETUP = """
from accounts import services
from accounts.models import User
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import FolderRole
owner = User.objects.create_user("owner@college.fr", "un-mot-de-passe-solide")
ws = services.workspace_create(name="Collège", slug="college", owner=owner)
box = mailbox_create(workspace=ws, address="vie-scolaire@college.fr")
inbox = box.folders.get(role=FolderRole.INBOX)
mails = [
    ("Jean Dupont <jean.dupont@example.fr>", "Absence de Jean Dupont", "p1", ""),
    ("Autre Parent <autre@example.fr>", "Sortie au musée", "p2", ""),
    ("Jean Dupont <jean.dupont@example.fr>", "Re: Sortie au musée", "p3", "p2"),
]
raws = []
for sender, subject, mid, parent in mails:
    thread = f"In-Reply-To: <{parent}@example.fr>\\r\\n" if parent else ""
    raws.append((f"From: {sender}\\r\\nTo: {box.address}\\r\\nSubject: {subject}\\r\\n"
                 f"Message-ID: <{mid}@example.fr>\\r\\n{thread}\\r\\nBonjour.\\r\\n").encode())
ingest_batch(mailbox=box, folder=inbox,
             mails=[RawMail(f"{inbox.pk}:1:{n}", raw) for n, raw in enumerate(raws, 1)])
"""

# Every subject and sender a reader of the workspace can see (messages and list summaries),
# then the workspace export, which reads every stored file.
PERSON_CHECK = """
from accounts.keys import keys_for
from accounts.models import User, Workspace
from inbox.models import Conversation, Message
from inbox.selectors.conversation_rows import conversation_summary
from inbox.mail.sealing import open_json, stored_message_row
from privacy.gdpr.export_archive import export_build
from privacy.gdpr.exports import export_start
ws = Workspace.objects.get(slug="college")
keys = keys_for(ws)
for m in Message.objects.filter(workspace=ws).order_by("id"):
    env = open_json(keys, m.envelope_sealed, field="message.envelope", row=stored_message_row(m))
    print("message", env["subject"], "|", env["from"]["address"])
for c in Conversation.objects.filter(workspace=ws).order_by("id"):
    s = conversation_summary(keys, c)
    print("summary", s.get("subject"), "|", s.get("address"), "|", c.message_count)
owner = User.objects.get(email="owner@college.fr")
export = export_start(workspace=ws, user=owner)
export_build(export_id=export.pk)
export.refresh_from_db()
print("export", export.state, export.error or "-")
"""


@pytest.mark.parametrize("scratch", ["postgresql"], indirect=True)
def test_a_restored_backup_never_brings_an_erased_person_back(scratch, folder):
    env = scratch
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "shell", "-c", PERSON_SETUP)
    before = manage(env, "shell", "-c", PERSON_CHECK)
    assert before.count("jean.dupont@example.fr") >= 2 and "export ready -" in before
    key = manage(env, "backup").split("Backup written: ")[1].split()[0]

    out = manage(env, "person_erase", "college", "Jean.Dupont@example.fr", "--yes")
    assert "2 message(s)" in out and "1 conversation(s) left empty and deleted" in out
    erased = manage(env, "shell", "-c", PERSON_CHECK)
    assert "dupont" not in erased.lower() and "message Sortie au musée" in erased
    ledger = folder / "data" / "objects" / "ledger"
    recorded = b"".join(p.read_bytes() for p in ledger.rglob("*.obj"))
    assert b'"person"' in recorded
    assert b"dupont" not in recorded.lower() and b"example" not in recorded  # no address

    out = manage(env, "restore", key, "--yes")
    after = manage(env, "shell", "-c", PERSON_CHECK)
    # Without the replay the restored rows show his subjects and address again, their files
    # are gone, and the export fails on the first one.
    assert "export ready -" in after, after
    assert "dupont" not in after.lower(), after
    assert "message Sortie au musée | autre@example.fr" in after
    assert "summary Sortie au musée | autre@example.fr | 1" in after
    assert _seen(after) == _seen(erased)
    assert "Deletions replayed from the ledger: 1" in out


def _seen(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("message", "summary"))]


def _command(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("scratch", ["sqlite"], indirect=True)
def test_person_erase_command_confirms_counts_and_says_what_is_wrong(scratch):
    env = scratch
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "shell", "-c", PERSON_SETUP)

    refused = _command(env, "person_erase", "college", "jean.dupont@example.fr")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "would erase 2 message(s)" in refused.stderr and "--yes" in refused.stderr
    unknown = _command(env, "person_erase", "nulle-part", "jean.dupont@example.fr", "--yes")
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr
    assert "No workspace has the slug 'nulle-part'" in unknown.stderr
    invalid = _command(env, "person_erase", "college", "jean.dupont", "--yes")
    assert invalid.returncode != 0 and "is not an email address" in invalid.stderr
    assert "Traceback" not in invalid.stderr
    assert "jean.dupont@example.fr" in manage(env, "shell", "-c", PERSON_CHECK)  # all kept

    out = manage(env, "person_erase", "college", "jean.dupont@example.fr", "--yes")
    assert "Erased from 'Collège' (college): 2 message(s), 0 attachment(s)" in out
    assert "2 stored file(s)" in out and "1 rebuilt" in out
    again = manage(env, "person_erase", "college", "jean.dupont@example.fr", "--yes")
    assert again.startswith("Nothing to erase: no message in 'Collège' (college)")
    assert "jean.dupont" not in manage(env, "shell", "-c", PERSON_CHECK)


def test_an_expired_backup_is_unreadable_even_from_a_copy_kept_elsewhere(db, settings, folder):
    """A download (or a replica of the backups) outlives the prune: its data key does not."""
    from privacy.gdpr.backups import (
        BackupError,
        backup_create,
        backup_open,
        backup_prune,
        backup_restore,
    )
    from trupeo.storage import object_store

    store = object_store()
    backup = backup_create()
    copy = folder / "downloaded-backup"
    copy.write_bytes(store.get(backup.key))

    def dump() -> bytes:
        chunks = [copy.read_bytes()]
        return b"".join(backup_open(chunks, name="the copy", engine=backup.engine, store=store))

    assert dump()[:5] in (b"SQLit", b"PGDMP")  # readable while the backup is kept
    assert backup_prune(now=datetime.now(UTC) + timedelta(days=10)).keys == 0
    assert dump()[:5] in (b"SQLit", b"PGDMP")

    pruned = backup_prune(now=datetime.now(UTC) + timedelta(days=settings.TRUPEO_BACKUP_DAYS))
    assert (pruned.keys, pruned.backups) == (1, 1)
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    with pytest.raises(BackupError, match=f"its data key was destroyed on {today}"):
        dump()
    # Every master key is still configured: they alone open nothing, and no wrapped key is left.
    register = [store.get(k) for k in store.iter_keys("backup-keys/")]
    assert len(register) == 1 and b'"wrapped": null' in register[0]
    # Put back into storage (an operator's upload), it is refused before the database is touched.
    store.put(backup.key, copy.read_bytes())
    with pytest.raises(BackupError, match=f"destroyed on {today}"):
        backup_restore(key=backup.key)


FAIL_THEN_PRUNE = """
from privacy.tasks import backup_database
backup_database()
"""


@pytest.mark.parametrize("scratch", ["postgresql"], indirect=True)
def test_pruning_runs_when_the_days_backup_fails(scratch, folder):
    env = scratch
    manage(env, "migrate", "--no-input", "-v", "0")
    first = manage(env, "backup").split("Backup written: ")[1].split()[0]
    objects = folder / "data" / "objects"
    copy = next((objects / "backups").rglob("*.obj")).read_bytes()
    # The database is gone (pg_dump fails) on the day the first backup expires: the prune
    # still destroys its key and deletes it.
    broken = {
        **env,
        "DATABASE_URL": env["DATABASE_URL"] + "_gone",
        "TRUPEO_BACKUP_DAYS": "0",
    }
    failed = _command(broken, "backup")
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "The backup failed: pg_dump failed" in failed.stderr
    assert "Expired backups: 1 data key(s) destroyed, 1 backup(s) deleted." in failed.stdout
    assert not list((objects / "backups").rglob("*.obj"))
    assert first not in manage(env, "backup", "--list")

    # The beat's daily task too: a second backup, expired, pruned by a failing run.
    second = manage(env, "backup").split("Backup written: ")[1].split()[0]
    task = _command(broken, "shell", "-c", FAIL_THEN_PRUNE)
    assert task.returncode != 0 and "pg_dump failed" in task.stderr
    assert second not in manage(env, "backup", "--list")

    # The copy of the first one, uploaded again under its name, cannot be restored.
    from trupeo.storage import LocalObjectStore

    LocalObjectStore(objects).put(first, copy)
    refused = _command(env, "restore", first, "--yes")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "its data key was destroyed on" in refused.stderr
