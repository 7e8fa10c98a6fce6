"""`make bench`: Trupeo's speed and memory targets, measured on this machine.

Mail sync (issue "Mail core"):
  1. initial sync of N realistic messages from a local Dovecot, one worker process, against
     mbsync pulling the same mailbox to a Maildir — both times and the ratio (target <= 3x);
  2. peak memory of the sync process at N and at a larger mailbox (target <= 300 MB, flat);
  3. time to inbox: a message APPENDed on the server is a stored conversation (IMAP IDLE:
     the watcher queues a sync, a Celery worker runs it), median over several arrivals
     (target <= 2 s).

Shared inbox (issue "shared inbox"), PostgreSQL only — bench/inbox_scale.py:
  4. lists, page 50, a 20-message conversation and ten searches over 200,000 conversations and
     1,000,000 messages (generated once into `trupeo_bench_inbox_<size>`, then kept).

Reports (issue #18), PostgreSQL only — bench/reports_scale.py:
  5. the reports page over one year of 200,000 conversations and 1,000,000 messages, unfiltered
     and filtered, and a CSV export (target p95 < 500 ms).
Many people at once (issue 19), PostgreSQL only — bench/load.py: Locust agents (50 thinking,
then a capacity run) against gunicorn on the same 1,000,000 messages: p95, requests/s, errors,
lost writes.

Push and scale (issue 19): bench/push.py (Gmail and Microsoft 365 push, time to inbox) and
bench/idle_scale.py (one IDLE watcher holding 2,000 IMAP mailboxes: memory, time to inbox).

Uses PostgreSQL when DATABASE_URL is set (a fresh `<name>_bench` database), else SQLite.
Options: --messages 10000 --memory-messages 50000 --arrivals 15 (smaller numbers for a try),
--inbox-conversations 200000 --inbox-messages 1000000.
"""

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import corpus  # noqa: E402
from tests.parts.dovecot import DovecotServer, start_dovecot  # noqa: E402

PYTHON = sys.executable


def _database_url(name: str, workdir: Path) -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    server, _, _db = base.rpartition("/")
    subprocess.run(
        ["psql", server + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True
    )
    subprocess.run(["psql", server + "/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    return f"{server}/{name}"


class Site:
    """A fresh Trupeo (database + data folder) with one workspace and one IMAP mailbox."""

    def __init__(self, label: str, dovecot: DovecotServer, user: str, password: str):
        self.workdir = Path(tempfile.mkdtemp(prefix=f"trupeo-bench-{label}-"))
        self.env = {
            **os.environ,
            "DEBUG": "False",
            "TRUPEO_MAIL_TO_MEMORY": "True",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            "TRUPEO_MASTER_KEYS": "bench:YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=",
            "TRUPEO_DATA_DIR": str(self.workdir),
            "DATABASE_URL": _database_url(f"trupeo_bench_{label}", self.workdir),
            "SECURE_SSL_REDIRECT": "False",
            "LOG_LEVEL": "WARNING",
            # The benchmark's Dovecot is on loopback, which every connection checks.
            "TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS": "True",
        }
        self.manage("migrate", "-v0")
        script = (
            "from accounts import services; from inbox.mail.mailboxes import mailbox_create;"
            "w = services.workspace_create(name='Bench', slug='bench', owner=None);"
            f"m = mailbox_create(workspace=w, address='scolarite@lycee-bench.fr',"
            f" credentials={{'imap_password': {password!r}}}, imap_host={dovecot.host!r},"
            f" imap_port={dovecot.port}, imap_security='none', imap_username={user!r});"
            "print(m.pk)"
        )
        self.mailbox_id = int(self.manage("shell", "-c", script).strip().splitlines()[-1])

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(
                f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def query(self, sql: str) -> int:
        script = f"from django.db import connection; c = connection.cursor(); c.execute({sql!r}); print(c.fetchone()[0])"
        return int(self.manage("shell", "-c", script).strip().splitlines()[-1])

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def fill(dovecot: DovecotServer, user: str, count: int) -> float:
    """Write the corpus straight into the account's Maildir (APPEND costs an fsync each),
    then let Dovecot index it once, so neither contender pays for that indexing."""
    started = time.monotonic()
    maildir = dovecot.root / "home" / user / "Maildir"
    owner = pwd.getpwnam("nobody")
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    stamp = int(time.time())
    for n, raw in enumerate(corpus(count)):
        (maildir / "cur" / f"{stamp}.M{n}P1.bench:2,").write_bytes(raw)
    for path in [
        dovecot.root / "home" / user,
        maildir,
        *maildir.iterdir(),
        *(maildir / "cur").iterdir(),
    ]:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    with dovecot.connect(user) as imap:
        imap.select_folder("INBOX", readonly=True)
        imap.search("ALL")
    return time.monotonic() - started


def run_mbsync(dovecot: DovecotServer, user: str, password: str) -> tuple[float, int]:
    workdir = Path(tempfile.mkdtemp(prefix="mbsync-bench-"))
    (workdir / "maildir").mkdir()
    config = workdir / "mbsyncrc"
    config.write_text(
        f"IMAPAccount bench\nHost {dovecot.host}\nPort {dovecot.port}\nUser {user}\n"
        f"Pass {password}\nSSLType None\nAuthMechs LOGIN\n\n"
        f"IMAPStore remote\nAccount bench\n\n"
        f"MaildirStore local\nPath {workdir}/maildir/\nInbox {workdir}/maildir/INBOX\n\n"
        "Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n"
    )
    started = time.monotonic()
    result = subprocess.run(["mbsync", "-c", str(config), "-a"], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"mbsync failed:\n{result.stdout}\n{result.stderr}")
    count = sum(1 for _ in (workdir / "maildir" / "INBOX").glob("*/*"))
    shutil.rmtree(workdir, ignore_errors=True)
    return seconds, count


def run_sync(site: Site) -> tuple[float, float, str]:
    """Wall time and peak RSS (MB) of one `sync_mailboxes --once` process: the largest of it
    and its forked preparing workers (which share most of their pages with it)."""
    log = site.workdir / "sync.log"
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(
            [PYTHON, "manage.py", "sync_mailboxes", "--once", "--mailbox", str(site.mailbox_id)],
            cwd=ROOT,
            env=site.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        # wait4 gives this one process's own peak memory (ru_maxrss, in KiB on Linux).
        _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text()
    if process.returncode != 0 or "FAILED" in output:
        raise SystemExit(f"sync failed:\n{output}")
    cpu = usage.ru_utime + usage.ru_stime  # this process and its preparing workers
    return seconds, usage.ru_maxrss / 1024, output.strip().splitlines()[0] + f" [CPU {cpu:.1f} s]"


def bench_sync(dovecot: DovecotServer, count: int) -> dict:
    user, password = dovecot.add_user(f"sync{count}")
    print(f"  filling a mailbox with {count:,} messages…", flush=True)
    fill_seconds = fill(dovecot, user, count)
    print(f"  ({fill_seconds:.1f} s to APPEND them)", flush=True)
    mbsync_seconds, mbsync_count = run_mbsync(dovecot, user, password)
    site = Site(f"s{count}", dovecot, user, password)
    try:
        seconds, peak_mb, line = run_sync(site)
        stored = site.query("select count(*) from inbox_message")
    finally:
        site.cleanup()
    return {
        "count": count,
        "mbsync_s": mbsync_seconds,
        "mbsync_count": mbsync_count,
        "trupeo_s": seconds,
        "trupeo_count": stored,
        "peak_mb": peak_mb,
        "summary": line,
    }


def bench_time_to_inbox(dovecot: DovecotServer, arrivals: int) -> list[float]:
    """The watcher queues a sync on new mail; a Celery worker (Redis broker) runs it."""
    from tests.parts import free_loopback_port
    from tests.parts.redis import OwnRedis

    user, password = dovecot.add_user("idle")
    site = Site("idle", dovecot, user, password)
    redis = OwnRedis(port=free_loopback_port(), directory=site.workdir)
    redis.start()
    site.env["REDIS_URL"] = redis.url
    worker = subprocess.Popen(
        [str(Path(PYTHON).parent / "celery"), "-A", "trupeo", "worker", "--concurrency=2",
         "--loglevel=WARNING"],
        cwd=ROOT, env=site.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    watcher = site.popen("imap_idle")
    delays = []
    try:
        time.sleep(3)  # connected, caught up, idling
        with dovecot.connect(user) as imap:
            for n, raw in enumerate(corpus(arrivals, seed=7)):
                started = time.monotonic()
                imap.append("INBOX", raw)
                while (
                    site.query(
                        "select count(*) from inbox_conversation c join inbox_message m "
                        "on m.conversation_id = c.id"
                    )
                    <= n
                ):
                    if time.monotonic() - started > 30:
                        raise SystemExit("a message did not arrive within 30 s")
                    time.sleep(0.02)
                delays.append(time.monotonic() - started)
    finally:
        for process in (watcher, worker):
            process.terminate()
            process.wait(timeout=30)
        redis.kill()
        site.cleanup()
    return delays


def cpu_reference() -> float:
    """Milliseconds for a fixed piece of pure Python (best of 3): this machine's speed varies
    by the hour, and runs are only comparable at a similar reference."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for n in range(3_000_000):
            total += n
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--memory-messages", type=int, default=50_000)
    parser.add_argument("--arrivals", type=int, default=15)
    parser.add_argument("--inbox-conversations", type=int, default=200_000)
    parser.add_argument("--inbox-messages", type=int, default=1_000_000)
    args = parser.parse_args()

    database = (
        "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    )
    print(
        f"Trupeo benchmarks — {os.cpu_count()} cores, {database}, Python {sys.version.split()[0]}, "
        f"CPU reference {cpu_reference():.0f} ms (3M additions; lower is faster)"
    )
    print(
        f"reproduce: make bench  (or: {PYTHON} bench/run.py --messages {args.messages} "
        f"--memory-messages {args.memory_messages} --arrivals {args.arrivals})\n"
    )
    dovecot = start_dovecot()
    try:
        print(f"1. Initial sync of {args.messages:,} messages, one worker, vs mbsync")
        first = bench_sync(dovecot, args.messages)
        ratio = first["trupeo_s"] / first["mbsync_s"]
        print(
            f"   mbsync : {first['mbsync_s']:7.1f} s  ({first['mbsync_count']:,} messages to a Maildir)"
        )
        print(
            f"   Trupeo : {first['trupeo_s']:7.1f} s  ({first['trupeo_count']:,} messages parsed, sealed, "
            f"threaded, indexed, stored)"
        )
        print(f"   ratio  : {ratio:.2f}x   target <= 3x   {'OK' if ratio <= 3 else 'MISSED'}")
        print(f"   {first['summary']}\n")

        print("2. Peak memory of the sync process (target <= 300 MB, flat in mailbox size)")
        print(f"   {args.messages:>7,} messages: {first['peak_mb']:6.0f} MB")
        if args.memory_messages:
            second = bench_sync(dovecot, args.memory_messages)
            print(
                f"   {args.memory_messages:>7,} messages: {second['peak_mb']:6.0f} MB "
                f"({second['trupeo_s']:.1f} s, mbsync {second['mbsync_s']:.1f} s)"
            )
        print()

        print(f"3. Time to inbox over IMAP IDLE ({args.arrivals} arrivals, target median <= 2 s)")
        delays = bench_time_to_inbox(dovecot, args.arrivals)
        median = statistics.median(delays)
        print(
            f"   median {median * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms   "
            f"{'OK' if median <= 2 else 'MISSED'}"
        )
    finally:
        dovecot.stop()

    print()
    inbox = [
        PYTHON,
        str(ROOT / "bench" / "inbox_scale.py"),
        "--conversations",
        str(args.inbox_conversations),
        "--messages",
        str(args.inbox_messages),
    ]
    subprocess.run(inbox, cwd=ROOT, check=True)

    # Reports over a year of the same 1,000,000 messages (issue #18), PostgreSQL only.
    print()
    subprocess.run([PYTHON, str(ROOT / "bench" / "reports_scale.py")], cwd=ROOT, check=True)

    # Many people at once on the same million messages: Locust agents against gunicorn.
    print()
    load = [PYTHON, str(ROOT / "bench" / "load.py"), "--conversations"]
    load += [str(args.inbox_conversations), "--messages", str(args.inbox_messages)]
    subprocess.run(load, cwd=ROOT, check=True)

    # Gmail and Microsoft 365 against their local fakes, inside the published quotas.
    print()
    subprocess.run([PYTHON, str(ROOT / "bench" / "oauth_sync.py")], cwd=ROOT, check=True)

    # New mail in seconds: push from Gmail and Microsoft 365, and IDLE at 2,000 mailboxes.
    print()
    subprocess.run([PYTHON, str(ROOT / "bench" / "push.py")], cwd=ROOT, check=True)
    print()
    subprocess.run([PYTHON, str(ROOT / "bench" / "idle_scale.py")], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
