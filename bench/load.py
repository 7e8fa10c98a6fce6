"""Many people at once: Locust agents against gunicorn on the million-message workspace.

Starts gunicorn (as docker-compose.yml runs it) on the kept database of bench/inbox_scale.py
(200,000 conversations, 1,000,000 messages; made the first time), with Redis for the cache
and the broker, then runs Locust headless (bench/load_agents.py) twice:

  1. 50 agents thinking 0.5-1.5 s between clicks, for --duration seconds:
     target p95 <= 200 ms over every request, 0 errors;
  2. capacity: --capacity-agents agents clicking with no think time: target >= 100 requests/s.

Then it counts, in the database, the notes, assignments and replies the server confirmed to
the agents: every one must be there (0 lost writes). Each run prints where the time goes per
kind of request (Locust's own percentiles) and the machine's load.

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/load.py
  ... bench/load.py --quick             # 2,000 conversations / 10,000 messages, 20 s runs
"""

import argparse
import csv
import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox_scale import (  # noqa: E402
    MASTER_KEYS,
    MEMBERS,
    kept_database,
    samples_of,
    search_queries,
)

TARGET_P95_MS = 200
TARGET_CAPACITY = 100
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _plan(samples) -> dict:
    """Who the agents are (a session each) and what they click on."""
    import random

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User, Workspace
    from inbox.models import Conversation, Mailbox, Tag
    from inbox.selectors.conversation_list import LISTS

    workspace = Workspace.objects.get(slug="bench")
    members = []
    for email, _name in MEMBERS[:5]:
        user = User.objects.get(email=email)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        members.append(
            {"id": user.pk, "session": session.session_key, "csrf": secrets.token_hex(16)}
        )
    ids = list(
        Conversation.objects.filter(workspace=workspace)
        .order_by("?")
        .values_list("pk", flat=True)[:5000]
    )
    random.Random(7).shuffle(ids)
    # Who each was assigned to before the run: the lost-write check of assignments.
    assignees = dict(Conversation.objects.filter(pk__in=ids).values_list("pk", "assignee_id"))
    lists = [f"/inbox/?view={key}" for key in LISTS]
    lists += [
        f"/inbox/?view=open&mailbox={pk}"
        for pk in Mailbox.objects.filter(workspace=workspace).values_list("pk", flat=True)
    ]
    lists += [
        f"/inbox/?view=open&tag={pk}"
        for pk in Tag.objects.filter(workspace=workspace).values_list("pk", flat=True)[:3]
    ]
    return {
        "members": members,
        "conversations": ids,
        "assignees": {str(pk): assignee for pk, assignee in assignees.items()},
        "lists": lists,
        "searches": search_queries(samples),
    }


def _assignments_kept(since: datetime, assigned: list, before: dict) -> int:
    """How many confirmed assignments the database shows: recorded since `since`, or a
    no-op because that person was already assigned before the run (nothing is recorded)."""
    from inbox.models import Activity, ActivityKind

    recorded = set(
        Activity.objects.filter(created_at__gte=since, kind=ActivityKind.ASSIGNED).values_list(
            "conversation_id", "assignee_id"
        )
    )
    return sum(
        1
        for conversation, assignee in assigned
        if (conversation, assignee) in recorded or before.get(str(conversation)) == assignee
    )


def _writes(since: datetime, assigned: list, before: dict) -> dict:
    from inbox.models import Note, Outgoing, SendState

    return {
        "notes": Note.objects.filter(created_at__gte=since).count(),
        "assignments": _assignments_kept(since, assigned, before),
        "replies": Outgoing.objects.filter(updated_at__gte=since)
        .exclude(state=SendState.DRAFT)
        .count(),
    }


class Gunicorn:
    def __init__(self, env: dict, workers: int, threads: int) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            str(BIN / "gunicorn"),
            "trupeo.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
            "--log-level",
            "warning",  # no line per worker booted in the report
        ]
        self.command = command
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz/", timeout=2).read()  # noqa: S310
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class CpuMeter:
    """Where the machine's cores go during a run: CPU seconds of the Django workers, of
    PostgreSQL, of Redis, of the load generator, and of everything else, per request."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.start = self._read()

    def _groups(self) -> dict[str, list]:
        import psutil

        server = psutil.Process(self.server_pid)
        groups: dict[str, list] = {"django": [server, *server.children(recursive=True)]}
        for process in psutil.process_iter(["name"]):
            name = process.info["name"] or ""
            if name.startswith("postgres"):
                groups.setdefault("postgresql", []).append(process)
            elif name.startswith("redis"):
                groups.setdefault("redis", []).append(process)
        return groups

    def _read(self) -> dict:
        """CPU seconds of each process by (group, pid), and of the whole machine."""
        import psutil

        seconds: dict = {}
        for group, processes in self._groups().items():
            for process in processes:
                try:
                    times = process.cpu_times()
                except psutil.Error:  # gone in between: a short-lived backend
                    continue
                # With what its exited children spent (a backend that closed its connection,
                # reaped by the postmaster): a process that lived across the run is counted
                # once, alive at the start and in its parent's children at the end.
                seconds[group, process.pid] = (
                    times.user + times.system + times.children_user + times.children_system
                )
        total = psutil.cpu_times()
        seconds["machine"] = total.user + total.system + total.nice + total.irq + total.softirq
        return seconds

    def watch(self) -> None:
        self.start = self._read()

    def spent(self, locust_seconds: float) -> dict[str, float]:
        """CPU seconds per group since watch(); the generator's own CPU is given by the
        caller, read from its exit status."""
        end = self._read()
        spent = {"load generator": locust_seconds}
        for sign, reading in ((1, end), (-1, self.start)):
            for key, seconds in reading.items():
                if key != "machine":
                    spent[key[0]] = spent.get(key[0], 0.0) + sign * seconds
        named = sum(spent.values())
        spent["other"] = max(end["machine"] - self.start["machine"] - named, 0.0)
        return spent


def _locust(
    base: str,
    env: dict,
    *,
    agents: int,
    seconds: int,
    think: bool,
    out: Path,
    meter: CpuMeter,
) -> dict:
    prefix = out / ("think" if think else "capacity")
    writes = out / f"writes-{prefix.name}.json"
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "load_agents.py"),
        "--headless",
        "--users",
        str(agents),
        "--spawn-rate",
        str(max(agents // 5, 1)),
        "--run-time",
        f"{seconds}s",
        "--host",
        base,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "ERROR",
    ]
    env = {**env, "TRUPEO_LOAD_THINK": "1" if think else "0", "TRUPEO_LOAD_WRITES": str(writes)}
    # Locust's own tables go to a file (printed below, per kind of request, in one table).
    with open(f"{prefix}.log", "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        meter.watch()
        _pid, _status, usage = os.wait4(process.pid, 0)
    cpu = meter.spent(usage.ru_utime + usage.ru_stime)
    # The 1-minute load average at the end of the run is the load during it: the machine
    # is shared, and a busy one says more about the figures than the code does.
    loadavg = os.getloadavg()[0]
    with open(f"{prefix}_stats.csv") as handle:
        rows = list(csv.DictReader(handle))
    with open(f"{prefix}_failures.csv") as handle:
        failures = list(csv.DictReader(handle))
    return {
        "rows": rows,
        "failures": failures,
        "writes": json.loads(writes.read_text()) if writes.exists() else {},
        "command": command,
        "load": loadavg,
        "cpu": cpu,
    }


def _print_run(title: str, run: dict) -> dict:
    print(f"\n   {title} (load average at the end: {run['load']:.2f})")
    print(
        f"   {'request':<22}{'count':>8}{'fail':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'req/s':>8}"
    )
    total = {}
    for row in run["rows"]:
        name = row["Name"] if row["Name"] != "Aggregated" else "ALL"
        print(
            f"   {name:<22}{row['Request Count']:>8}{row['Failure Count']:>6}"
            f"{row['50%']:>8}{row['95%']:>8}{row['99%']:>8}"
            f"{float(row['Max Response Time']):>8.0f}{float(row['Requests/s']):>8.1f}"
        )
        if row["Name"] == "Aggregated":
            total = row
    requests = int(total.get("Request Count") or 0)
    if requests:
        # CPU per request by part: the machine's two cores are shared by all of them.
        parts = ", ".join(
            f"{name} {seconds * 1000 / requests:.1f} ms"
            for name, seconds in sorted(run["cpu"].items(), key=lambda kv: -kv[1])
        )
        print(f"   CPU per request: {parts}")
    for failure in run["failures"][:5]:
        print(f"   failure: {failure['Method']} {failure['Name']}: {failure['Error'][:150]}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of the 50-agent run")
    parser.add_argument("--capacity-agents", type=int, default=12)
    parser.add_argument("--capacity-duration", type=int, default=30)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.messages, args.duration, args.capacity_duration = (
            2_000,
            10_000,
            20,
            15,
        )
    print(
        f"5. Many people at once: {args.agents} agents on {args.conversations:,} conversations / "
        f"{args.messages:,} messages, gunicorn {args.workers} workers × {args.threads} threads"
    )
    kept = kept_database(args)
    if kept is None:
        print("   skipped, it needs PostgreSQL (DATABASE_URL=postgres://…).")
        return
    url, marker = kept
    workdir = Path(tempfile.mkdtemp(prefix="trupeo-bench-load-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trupeo.settings",
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "DEBUG": "False",
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "TRUPEO_MASTER_KEYS": MASTER_KEYS,
        "TRUPEO_DATA_DIR": str(workdir),
        "TRUPEO_MAIL_TO_MEMORY": "True",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    plan = _plan(samples_of(marker))
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps(plan))
    env["TRUPEO_LOAD_PLAN"] = str(plan_file)
    server = Gunicorn(env, args.workers, args.threads)
    started = datetime.now(UTC)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"   at {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average {load}")
    meter = CpuMeter(server.process.pid)
    run = partial(_locust, server.url, env, out=workdir, meter=meter)
    try:
        think = run(agents=args.agents, seconds=args.duration, think=True)
        capacity = run(agents=args.capacity_agents, seconds=args.capacity_duration, think=False)
    finally:
        server.stop()
    total = _print_run(f"{args.agents} agents, 0.5-1.5 s between clicks, {args.duration} s", think)
    most = _print_run(
        f"capacity: {args.capacity_agents} agents, no think time, {args.capacity_duration} s",
        capacity,
    )
    confirmed = {}
    assigned = []
    for run in (think, capacity):
        assigned += run["writes"].pop("assigned", [])
        for kind, count in run["writes"].items():
            confirmed[kind] = confirmed.get(kind, 0) + count
    stored = _writes(started, assigned, plan["assignees"])
    lost = {k: confirmed.get(k, 0) - stored.get(k, 0) for k in ("notes", "assignments", "replies")}
    p95 = float(total.get("95%") or 0)
    rate = float(most.get("Requests/s") or 0)
    errors = int(total.get("Failure Count") or 0) + int(most.get("Failure Count") or 0)
    print("\n   writes confirmed to agents / found in the database (assignments: per pair):")
    for kind in ("notes", "assignments", "replies"):
        print(f"     {kind:<12} {confirmed.get(kind, 0):>6} / {stored.get(kind, 0):>6}")
    verdict = [
        (
            f"p95 over every request, {args.agents} agents thinking",
            f"{p95:.0f} ms",
            p95 <= TARGET_P95_MS,
            f"<= {TARGET_P95_MS} ms",
        ),
        (
            "capacity, no think time",
            f"{rate:.1f} requests/s",
            rate >= TARGET_CAPACITY,
            f">= {TARGET_CAPACITY}/s",
        ),
        ("errors", str(errors), errors == 0, "0"),
        (
            "lost writes",
            str(sum(max(v, 0) for v in lost.values())),
            all(v <= 0 for v in lost.values()),
            "0",
        ),
    ]
    print()
    for label, value, ok, target in verdict:
        print(f"   {label:<44} {value:>16}   target {target:<10} {'met' if ok else 'MISSED'}")
    command = [
        ".venv/bin/python",
        "bench/load.py",
        "--conversations",
        str(args.conversations),
        "--messages",
        str(args.messages),
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
    ]
    print(
        f"\nreproduce: DATABASE_URL={shlex.quote(url.rsplit('/', 1)[0] + '/postgres')} {' '.join(command)}"
    )


if __name__ == "__main__":
    main()
