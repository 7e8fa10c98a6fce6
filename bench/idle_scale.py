"""The IMAP IDLE watcher at scale (issue 19, "Many mailboxes, many machines").

One `manage.py imap_idle` process holds an IDLE connection on each of N mailboxes (default
2,000, one Dovecot user each) on a local Dovecot whose process limits are raised for it; a
Celery worker (2 processes) with a Redis broker does the syncing, as in production. Measured:

  1. time for the watcher to hold all N mailboxes (connected, logged in, INBOX examined, IDLE)
     and for the worker to drain the catch-up syncs each new connection queues;
  2. the watcher's memory (RSS now and its peak) and its database connections;
  3. time to inbox at that load: a message APPENDed to a random mailbox, until its row is in
     the inbox database (IDLE -> queued sync -> worker -> stored), median over arrivals
     (target <= 2 s, as with one mailbox).

PostgreSQL when DATABASE_URL is set (a fresh `trupeo_bench_idle` database), else SQLite.
Reproduce: .venv/bin/python bench/idle_scale.py --mailboxes 2000 --arrivals 15
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import corpus  # noqa: E402
from bench.run import PYTHON, _database_url  # noqa: E402
from tests.parts import free_loopback_port  # noqa: E402
from tests.parts.dovecot import DovecotServer, start_dovecot  # noqa: E402
from tests.parts.redis import OwnRedis  # noqa: E402

# Dovecot's defaults allow 100 processes per service: one `imap` process per connection
# needs more, and anvil/auth must take a client per login process and per imap process.
DOVECOT_LIMITS = """
default_client_limit = 10000
default_process_limit = 3000
service imap {
  process_limit = 5000
}
service imap-login {
  service_count = 0
  client_limit = 2500
  process_limit = 4
  process_min_avail = 2
}
service anvil {
  client_limit = 10000
}
service auth {
  client_limit = 10000
}
"""

CREATE = """
import json, sys
from accounts import services
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Mailbox
spec = json.load(open(sys.argv[-1]))
w = services.workspace_create(name='Bench', slug='bench', owner=None)
for user, password in spec['users']:
    mailbox_create(workspace=w, address=user + '@lycee-bench.fr',
        credentials={'imap_password': password}, imap_host=spec['host'],
        imap_port=spec['port'], imap_security='none', imap_username=user)
print(Mailbox.objects.count())
"""


class Database:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite"):
            import sqlite3

            self.connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
            self.marker = "?"
        else:
            import psycopg

            self.connection = psycopg.connect(url, autocommit=True)
            self.marker = "%s"

    def value(self, sql: str, *args):
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("%s", self.marker), args)
        row = cursor.fetchone()
        if hasattr(self.connection, "commit"):
            self.connection.commit()
        return row[0] if row else None


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _sep, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def sessions(dovecot: DovecotServer) -> int:
    """IMAP connections open on Dovecot now."""
    total = 0
    for line in dovecot.doveadm("who").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3 and parts[2] == "imap":
            total += int(parts[1])
    return total


def run(mailboxes: int, arrivals: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="trupeo-bench-idle-"))
    redis = OwnRedis(port=free_loopback_port(), directory=workdir)
    redis.start()
    dovecot = start_dovecot(extra_config=DOVECOT_LIMITS)
    processes: list[subprocess.Popen] = []
    try:
        database_url = _database_url("trupeo_bench_idle", workdir)
        env = {
            **os.environ,
            "DEBUG": "False",
            "TRUPEO_MAIL_TO_MEMORY": "True",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            "TRUPEO_MASTER_KEYS": "bench:YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=",
            "TRUPEO_DATA_DIR": str(workdir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "SECURE_SSL_REDIRECT": "False",
            "LOG_LEVEL": "WARNING",
            "TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS": "True",
            "PGAPPNAME": "trupeo-bench-idle",
        }

        def manage(*args: str) -> str:
            result = subprocess.run(
                [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
            )
            if result.returncode != 0:
                raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
            return result.stdout

        manage("migrate", "-v0")
        users = [dovecot.add_user("box") for _ in range(mailboxes)]
        spec = workdir / "spec.json"
        spec.write_text(json.dumps({"users": users, "host": dovecot.host, "port": dovecot.port}))
        started = time.monotonic()
        manage("shell", "-c", CREATE.replace("sys.argv[-1]", repr(str(spec))))
        created_s = time.monotonic() - started
        database = Database(database_url)
        ids = {
            user: database.value("select id from inbox_mailbox where imap_username = %s", user)
            for user, _password in users
        }

        processes.append(
            subprocess.Popen(
                [str(Path(PYTHON).parent / "celery"), "-A", "trupeo", "worker",
                 "--concurrency=2", "--loglevel=WARNING"],
                cwd=ROOT, env={**env, "PGAPPNAME": "trupeo-bench-worker"},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        watcher = subprocess.Popen(
            [PYTHON, "manage.py", "imap_idle"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(watcher)
        started = time.monotonic()
        held_s = None
        while time.monotonic() - started < 900:
            if held_s is None and sessions(dovecot) >= mailboxes:
                held_s = time.monotonic() - started
            synced = database.value(
                "select count(*) from inbox_mailbox where last_success_at is not null"
            )
            if held_s is not None and synced >= mailboxes:
                break
            if watcher.poll() is not None:
                raise SystemExit("the watcher stopped")
            time.sleep(1)
        else:
            raise SystemExit(f"not all mailboxes held in 900 s ({sessions(dovecot)} sessions)")
        drained_s = time.monotonic() - started
        time.sleep(5)  # steady state
        rss, peak = rss_mb(watcher.pid)
        db_connections = None
        if not database_url.startswith("sqlite"):
            db_connections = database.value(
                "select count(*) from pg_stat_activity where application_name = %s",
                "trupeo-bench-idle",
            )

        delays = []
        rng = random.Random(7)
        for raw in corpus(arrivals, seed=11):
            user = rng.choice(users)[0]
            mailbox_id = ids[user]
            before = database.value(
                "select count(*) from inbox_message where mailbox_id = %s", mailbox_id
            )
            began = time.monotonic()
            dovecot.append(user, "INBOX", raw)
            while (
                database.value(
                    "select count(*) from inbox_message where mailbox_id = %s", mailbox_id
                )
                <= before
            ):
                if time.monotonic() - began > 60:
                    raise SystemExit("a message did not arrive within 60 s")
                time.sleep(0.02)
            delays.append(time.monotonic() - began)
        return {
            "mailboxes": mailboxes,
            "created_s": created_s,
            "held_s": held_s,
            "drained_s": drained_s,
            "rss_mb": rss,
            "peak_mb": peak,
            "db_connections": db_connections,
            "sessions": sessions(dovecot),
            "delays": delays,
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        dovecot.stop()
        redis.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mailboxes", type=int, default=2000)
    parser.add_argument("--arrivals", type=int, default=15)
    args = parser.parse_args()
    print(
        f"IDLE watcher at scale: {args.mailboxes:,} IMAP mailboxes, one watcher process, "
        f"a 2-process worker (reproduce: {PYTHON} bench/idle_scale.py --mailboxes "
        f"{args.mailboxes} --arrivals {args.arrivals})"
    )
    result = run(args.mailboxes, args.arrivals)
    median = statistics.median(result["delays"])
    print(f"   {result['mailboxes']:,} mailboxes created in {result['created_s']:.0f} s")
    print(
        f"   all held (IDLE) after {result['held_s']:.1f} s; first catch-up syncs drained after "
        f"{result['drained_s']:.1f} s; {result['sessions']:,} IMAP sessions open"
    )
    connections = (
        f"{result['db_connections']} database connection(s)"
        if result["db_connections"] is not None
        else "(database connections counted on PostgreSQL only)"
    )
    print(
        f"   watcher memory: {result['rss_mb']:.0f} MB resident "
        f"(peak {result['peak_mb']:.0f} MB), {result['rss_mb'] * 1024 / result['mailboxes']:.0f} "
        f"KB per mailbox; {connections}"
    )
    print(
        f"   time to inbox at that load ({len(result['delays'])} arrivals): median "
        f"{median * 1000:.0f} ms, max {max(result['delays']) * 1000:.0f} ms   target <= 2 s   "
        f"{'OK' if median <= 2 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
