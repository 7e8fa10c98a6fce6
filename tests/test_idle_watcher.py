"""The asyncio IDLE watcher against the real Dovecot: watcher processes share the mailboxes
through leases (never one watched twice), a killed watcher's mailboxes are taken over within
the lease, new mail queues a sync within seconds, and a watcher holds few database
connections whatever the number of mailboxes."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from inbox.mail.idle import IdleWatcher, watch_mailbox
from inbox.mail.idle_leases import leases_release, leases_tick
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Mailbox, SyncState, WatchLease
from tests.mail import french_message
from tests.sync_worker import worker_env

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
LEASE = 6  # seconds: the test's short lease (45 in production)
MAILBOXES = 8


def _mailboxes(dovecot, workspace, count: int, prefix: str = "watched") -> dict[int, str]:
    boxes = {}
    for n in range(count):
        user, password = dovecot.add_user(prefix)
        mailbox = mailbox_create(
            workspace=workspace,
            address=f"{prefix}{n}@lycee-verne.fr",
            credentials={"imap_password": password},
            imap_host=dovecot.host,
            imap_port=dovecot.port,
            imap_security="none",
            imap_username=user,
        )
        boxes[mailbox.pk] = user
    return boxes


def _start(name: str) -> subprocess.Popen:
    env = worker_env(PGAPPNAME=f"trupeo-idle-{name}-{os.getpid()}", LOG_LEVEL="WARNING")
    return subprocess.Popen(
        [sys.executable, "manage.py", "imap_idle", "--lease-seconds", str(LEASE)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _holder_of(process: subprocess.Popen) -> str:
    line = process.stdout.readline()
    assert " as " in line, line
    return line.split(" as ", 1)[1].split(" ", 1)[0]


def _held() -> dict[str, set[int]]:
    holders: dict[str, set[int]] = {}
    for mailbox_id, holder in WatchLease.objects.values_list("mailbox_id", "holder"):
        if holder:
            holders.setdefault(holder, set()).add(mailbox_id)
    connection.close()  # the watchers' writes are seen afresh
    return holders


def _sessions(dovecot) -> dict[str, int]:
    """IMAP connections per user on Dovecot right now (`doveadm who`)."""
    counts = {}
    for line in dovecot.doveadm("who").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "imap":
            counts[parts[0]] = int(parts[1])
    return counts


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


def _broker_messages() -> list[bytes]:
    if settings.REDIS_URL:
        import redis

        return redis.Redis.from_url(settings.REDIS_URL).lrange("celery", 0, -1)
    found = []
    for path in Path(settings.DATA_DIR, "broker").glob("*.msg"):
        with contextlib.suppress(OSError):
            found.append(path.read_bytes())
    return found


def _queued_syncs() -> list[int]:
    """The mailbox of every `sync_mailbox_now` waiting in the broker (no worker runs)."""
    found = []
    for raw in _broker_messages():
        with contextlib.suppress(ValueError, KeyError):
            headers = json.loads(raw).get("headers", {})
            if headers.get("task") == "inbox.tasks.sync_mailbox_now":
                found.append(int(headers["argsrepr"].strip("(),")))
    return found


def _database_connections(process: subprocess.Popen, name: str) -> int:
    if connection.vendor == "sqlite":
        database = str(Path(connection.settings_dict["NAME"]).resolve())
        fds = Path(f"/proc/{process.pid}/fd")
        return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == database)
    with connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_stat_activity where application_name = %s",
            [f"trupeo-idle-{name}-{os.getpid()}"],
        )
        return cursor.fetchone()[0]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_watchers_share_the_mailboxes_and_one_takes_over_from_a_dead_one(dovecot, workspace):
    boxes = _mailboxes(dovecot, workspace, MAILBOXES)
    users = set(boxes.values())
    first, second = _start("a"), _start("b")
    try:
        a, b = _holder_of(first), _holder_of(second)

        def shared_evenly() -> bool:
            held = _held()
            sessions = _sessions(dovecot)
            return (
                set(held) == {a, b}
                and held[a] | held[b] == set(boxes)
                and len(held[a]) == len(held[b]) == MAILBOXES // 2
                and all(sessions.get(user) == 1 for user in users)
            )

        assert _wait_for(shared_evenly, 40), (_held(), _sessions(dovecot))
        held = _held()
        assert not held[a] & held[b]
        # Every mailbox on exactly one IMAP connection: none watched twice.
        assert {u: c for u, c in _sessions(dovecot).items() if u in users} == dict.fromkeys(
            users, 1
        )
        # A handful of database connections each, not one per mailbox.
        assert _database_connections(first, "a") <= 2
        assert _database_connections(second, "b") <= 2

        # New mail: a sync queued for that mailbox within seconds (no worker runs here).
        target = next(iter(held[b]))
        before = _queued_syncs().count(target)
        started = time.monotonic()
        dovecot.append(boxes[target], "INBOX", french_message(1))
        assert _wait_for(lambda: _queued_syncs().count(target) > before, 5)
        assert time.monotonic() - started < 5

        # A watcher dies without a word: its mailboxes are the other's within the lease.
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = time.monotonic()

        def taken_over() -> bool:
            held = _held()
            sessions = _sessions(dovecot)
            return held.get(b) == set(boxes) and all(sessions.get(u) == 1 for u in users)

        assert _wait_for(taken_over, 4 * LEASE), (_held(), _sessions(dovecot))
        assert time.monotonic() - killed < 4 * LEASE  # 60 s in production: lease 45 s
    finally:
        _stop(first)
        _stop(second)
    # A clean stop hands the leases back at once.
    assert not _held()


def test_leases_never_give_a_mailbox_to_two_watchers(dovecot, workspace):
    from datetime import timedelta

    boxes = _mailboxes(dovecot, workspace, 6, prefix="leased")
    lease = timedelta(seconds=30)
    first = leases_tick(holder="w1", lease=lease, limit=100)
    second = leases_tick(holder="w2", lease=lease, limit=100)
    assert first == set(boxes) and not second  # w2 was not alive when w1 claimed
    first = leases_tick(holder="w1", lease=lease, limit=100)  # w1 sees w2: hands half back
    second = leases_tick(holder="w2", lease=lease, limit=100)
    assert len(first) == len(second) == 3 and not first & second
    assert first | second == set(boxes)
    # A mailbox that needs reconnecting is let go; the limit caps a watcher's share.
    stopped = next(iter(first))
    Mailbox.objects.filter(pk=stopped).update(sync_state=SyncState.RECONNECT)
    assert stopped not in leases_tick(holder="w1", lease=lease, limit=100)
    assert len(leases_tick(holder="w3", lease=lease, limit=1)) <= 1
    leases_release(holder="w1")
    assert not WatchLease.objects.filter(holder="w1").exists()


def test_a_single_mailbox_watch_connects_over_verified_tls(
    dovecot, workspace, settings, tmp_path, monkeypatch
):
    """The asyncio connection keeps the rules: TLS verified against the name (pinned to
    127.0.0.1, a name the certificate is not for fails), STARTTLS upgraded before login."""
    import socket as socket_module

    from inbox.mail.idle_connection import idle_connect, open_socket_blocking
    from inbox.mail.imap import MailServerError, ServerSettings

    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(dovecot.cert_pem)
    settings.TRUPEO_EXTRA_CA_FILE = str(ca_file)
    user, password = dovecot.add_user("idletls")
    real = socket_module.getaddrinfo
    monkeypatch.setattr(
        socket_module,
        "getaddrinfo",
        lambda host, *a, **k: real("127.0.0.1" if host == "imap.elsewhere.test" else host, *a, **k),
    )

    async def connect(host: str, port: int, security: str):
        import asyncio

        server = ServerSettings(host, port, security, user, password)
        loop = asyncio.get_running_loop()
        client = await idle_connect(
            server, open_socket=lambda: loop.run_in_executor(None, open_socket_blocking, server)
        )
        await client.logout()
        return True

    with pytest.raises(Exception) as refused:
        _in_own_thread(connect, "imap.elsewhere.test", dovecot.tls_port, "tls")
    assert "certificate" in str(refused.value).lower() or isinstance(refused.value, MailServerError)
    assert _in_own_thread(connect, "localhost", dovecot.tls_port, "tls")
    assert _in_own_thread(connect, "localhost", dovecot.port, "starttls")
    with pytest.raises(Exception):  # noqa: B017 (the TLS error, whichever its class)
        _in_own_thread(connect, "imap.elsewhere.test", dovecot.port, "starttls")
    assert f"user=<{user}>" in dovecot.log_text()


def _in_own_thread(coroutine_function, *args):
    """asyncio.run in a thread of its own: the session's Playwright keeps an event loop
    running in the main thread once a browser test has run."""
    import asyncio

    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine_function(*args))
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_watch_mailbox_stops_when_asked(dovecot, workspace):
    (mailbox_id,) = _mailboxes(dovecot, workspace, 1, prefix="stopping")
    stop = threading.Event()
    thread = threading.Thread(target=watch_mailbox, args=(mailbox_id, stop), daemon=True)
    thread.start()
    time.sleep(1.5)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert mailbox_id in IdleWatcher().wanted()


def test_a_password_saved_for_another_server_never_leaves_for_idle(dovecot, workspace):
    """The sealed password is bound to host, port and user: changed columns (a tampered row,
    an edit that skipped the form) make the watcher stop before connecting, as the sync does."""
    user, password = dovecot.add_user("rebound")
    mailbox = mailbox_create(
        workspace=workspace,
        address="rebound@lycee-verne.fr",
        credentials={
            "imap_password": password,
            "bound_to": {"imap": [dovecot.host, dovecot.port, user]},
        },
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
    )
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_port=dovecot.tls_port)
    started = time.monotonic()
    thread = threading.Thread(target=watch_mailbox, args=(mailbox.pk, threading.Event()))
    thread.start()  # its own thread, as the watcher runs it (a browser test's loop may run here)
    thread.join(timeout=10)
    assert not thread.is_alive()  # returned at once: nothing to retry
    assert time.monotonic() - started < 5
    assert f"user=<{user}>" not in dovecot.log_text()
