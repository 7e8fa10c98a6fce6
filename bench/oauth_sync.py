"""Initial sync of Gmail and Microsoft 365 mailboxes against the local fakes, with the
providers' published quotas as the physical limit (issue "Gmail and Microsoft 365 over OAuth").

The fakes (tests/parts/google_fake.py, microsoft_fake.py) enforce the quotas as the
providers document them and answer 429 beyond; each request also takes `--latency` seconds
(the network and the provider's own time). Targets: the sync stays inside the quota (no 429)
and reaches >= 80 % of its ceiling.

  1. Gmail: 250 quota units per user per second, messages.get = 5 units: 50 messages/s.
     To be sure never to exceed it, Trupeo counts a request from its sending until one
     second after its answer (Gmail counts it on arrival, in between): its pace is at most
     245 / (1 + request time) units/s — 87 % of 250 at 127 ms per request.
  2. Graph, published limits (10,000 requests per 10 minutes, 4 at once): for a mailbox
     under 10,000 messages the window never binds and 4 requests in flight bound the pace
     (4 / latency per second). Informative: the target is checked on "inside the limits";
     the quota's own ceiling is measured in 3.
  3. Graph, the sustained rate (10,000 / 600 s = 16.7 requests/s) measured without waiting
     ten minutes: the window is compressed 100 times for both the fake and Trupeo's pacing
     (100 requests per 6 s, the same rate), so a run of a few hundred messages spans
     several windows.

Runs in one process (the fakes are threads); PostgreSQL when DATABASE_URL is set (a fresh
`trupeo_bench_oauth` database), else SQLite. Reproduce:
  .venv/bin/python bench/oauth_sync.py --gmail 1500 --graph 1500 --graph-paced 300 --latency 0.1
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpus import corpus  # noqa: E402
from tests.parts.google_fake import UNITS, GoogleFake  # noqa: E402
from tests.parts.http_fake import certificate_files  # noqa: E402
from tests.parts.microsoft_fake import TENANT, MicrosoftFake  # noqa: E402

GMAIL = "scolarite@lycee-bench.fr"
GRAPH = "contact@lycee-bench.fr"
GRAPH_PACED = "accueil@lycee-bench.fr"


def _database_url(workdir: Path) -> str:
    from bench.run import _database_url as fresh

    return fresh("trupeo_bench_oauth", workdir)


def _setup(workdir: Path, google: GoogleFake, microsoft: MicrosoftFake) -> None:
    os.environ.update(
        {
            "DEBUG": "False",
            "TRUPEO_MAIL_TO_MEMORY": "True",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            "TRUPEO_MASTER_KEYS": "bench:YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=",
            "TRUPEO_DATA_DIR": str(workdir),
            "DATABASE_URL": _database_url(workdir),
            "SECURE_SSL_REDIRECT": "False",
            "LOG_LEVEL": "WARNING",
            "REQUESTS_CA_BUNDLE": certificate_files()[0],
            "GOOGLE_CLIENT_ID": google.client_id,
            "GOOGLE_CLIENT_SECRET": google.client_secret,
            "GOOGLE_TOKEN_URL": google.url + "/token",
            "GOOGLE_AUTH_URL": google.url + "/o/oauth2/v2/auth",
            "GMAIL_API_BASE_URL": google.url,
            "MICROSOFT_CLIENT_ID": microsoft.client_id,
            "MICROSOFT_CLIENT_SECRET": microsoft.client_secret,
            "MICROSOFT_TENANT": TENANT,
            "MICROSOFT_LOGIN_BASE_URL": microsoft.url,
            "MICROSOFT_GRAPH_BASE_URL": microsoft.url,
            "DJANGO_SETTINGS_MODULE": "trupeo.settings",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _connect(workspace_slug: str, provider: str, address: str, token: str) -> int:
    from django.core.management import call_command

    from inbox.models import Mailbox

    os.environ["BENCH_REFRESH_TOKEN"] = token
    call_command(
        "mailbox_add_oauth",
        "--workspace", workspace_slug,
        "--provider", provider,
        "--address", address,
        "--refresh-token-env", "BENCH_REFRESH_TOKEN",
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )  # fmt: skip
    return Mailbox.objects.get(address=address).pk


def _sync(mailbox_id: int, *, compressed: bool = False) -> tuple[float, dict]:
    """One `mailbox_sync` in a process of its own, as a worker runs it: the fakes in this
    process never compete with it for the interpreter lock."""
    import json
    import subprocess

    command = [sys.executable, __file__, "--run-sync", str(mailbox_id)]
    if compressed:
        command.append("--compressed")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"sync failed:\n{result.stdout}\n{result.stderr}")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    if not summary["ok"]:
        raise SystemExit(f"sync failed: {summary['error']}")
    return summary["seconds"], summary


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_sync(mailbox_id: int, compressed: bool) -> None:
    """The child: the environment is the parent's (settings, database, CA of the fakes)."""
    import json

    import django

    django.setup()
    from inbox.mail.providers import graph, quota
    from inbox.mail.sync import mailbox_sync

    quotas = []  # every Quota of the sync, for its mean request time
    original_init = quota.Quota.__init__

    def recording_init(self, **kwargs):
        original_init(self, **kwargs)
        quotas.append(self)

    quota.Quota.__init__ = recording_init
    if compressed:
        graph.REQUESTS_PER_WINDOW, graph.WINDOW_SECONDS = 100, 6.0
    started = time.monotonic()
    summary = mailbox_sync(mailbox_id=mailbox_id, batch_size=200)
    print(
        json.dumps(
            {
                "ok": summary.ok,
                "error": summary.error,
                "new": summary.new,
                "seconds": time.monotonic() - started,
                "cpu": _cpu_seconds(),
                "request_ms": 1000
                * sum(q.request_seconds for q in quotas)
                / max(1, sum(q.requests for q in quotas)),
            }
        )
    )


def bench_gmail(google: GoogleFake, count: int) -> dict:
    for raw in corpus(count):
        google.add_message(GMAIL, raw)
    mailbox_id = _connect("bench", "google", GMAIL, google.grant(GMAIL))
    google.log.clear()
    seconds, summary = _sync(mailbox_id)
    new = summary["new"]
    gets = google.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+")
    units = (
        gets * UNITS["get"]
        + google.count("GET", r"/gmail/v1/users/me/messages") * UNITS["list"]
        + google.count("GET", r"/gmail/v1/users/me/history") * UNITS["history"]
        + google.count("GET", r"/gmail/v1/users/me/profile") * UNITS["profile"]
    )
    quota = google.account(GMAIL).quota
    return {
        "seconds": seconds,
        "new": new,
        "gets": gets,
        "units_per_s": units / seconds,
        "messages_per_s": new / seconds,
        "refused": quota.refused,
        "peak": quota.peak,
        "cpu": summary["cpu"],
        "request_ms": summary["request_ms"],
    }


def bench_graph(
    microsoft: MicrosoftFake, address: str, count: int, *, compressed: bool = False
) -> dict:
    for raw in corpus(count, seed=11):
        microsoft.add_message(address, raw)
    mailbox_id = _connect("bench", "microsoft", address, microsoft.grant(address))
    microsoft.log.clear()
    microsoft.throttled = microsoft.max_in_flight = 0
    seconds, summary = _sync(mailbox_id, compressed=compressed)
    new = summary["new"]
    requests = sum(1 for method, path in microsoft.log if path.startswith("/v1.0/"))
    return {
        "seconds": seconds,
        "new": new,
        "requests": requests,
        "requests_per_s": requests / seconds,
        "messages_per_s": new / seconds,
        "throttled": microsoft.throttled,
        "max_in_flight": microsoft.max_in_flight,
        "cpu": summary["cpu"],
        "request_ms": summary["request_ms"],
    }


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gmail", type=int, default=1500, help="messages in the Gmail box")
    parser.add_argument("--graph", type=int, default=1500, help="messages, published limits")
    parser.add_argument("--graph-paced", type=int, default=300, help="messages, sustained rate")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--run-sync", type=int, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--compressed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_sync:
        run_sync(args.run_sync, args.compressed)
        return

    workdir = Path(tempfile.mkdtemp(prefix="trupeo-bench-oauth-"))
    google = GoogleFake(latency=args.latency).start()
    microsoft = MicrosoftFake(latency=args.latency).start()
    _setup(workdir, google, microsoft)
    from accounts import services

    services.workspace_create(name="Bench", slug="bench", owner=None)
    database = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"
    load = os.getloadavg()[0]
    print(f"Trupeo OAuth sync benchmarks — {os.cpu_count()} cores (load {load:.1f}), {database}")
    print(
        f"reproduce: {sys.executable} bench/oauth_sync.py --gmail {args.gmail} --graph "
        f"{args.graph} --graph-paced {args.graph_paced} --latency {args.latency}\n"
    )
    results_ok = True
    try:
        if args.gmail:
            print(
                f"1. Gmail initial sync, {args.gmail:,} messages, {args.latency * 1000:.0f} ms per request"
            )
            g = bench_gmail(google, args.gmail)
            share = g["units_per_s"] / 250
            ok = g["refused"] == 0 and g["peak"] <= 250 and share >= 0.8
            results_ok &= ok
            print(
                f"   {g['new']:,} messages in {g['seconds']:.1f} s ({g['cpu']:.1f} s CPU, "
                f"{g['request_ms']:.0f} ms per request): "
                f"{g['messages_per_s']:.1f} messages/s "
                f"(ceiling 50), {g['units_per_s']:.0f} units/s (ceiling 250): {share:.0%}"
            )
            print(
                f"   429 answers: {g['refused']}; most units in any 1 s window: {g['peak']:.0f} / 250"
                f"   {verdict(ok)}\n"
            )
        if args.graph:
            ceiling = 4 / args.latency
            print(
                f"2. Graph initial sync, {args.graph:,} messages, published limits "
                f"(10,000 / 10 min, 4 at once), {args.latency * 1000:.0f} ms per request"
            )
            r = bench_graph(microsoft, GRAPH, args.graph)
            share = r["requests_per_s"] / ceiling
            # Informative: bound by the latency, not by the quota (scenario 3 is the target).
            ok = r["throttled"] == 0 and r["max_in_flight"] <= 4
            results_ok &= ok
            print(
                f"   {r['new']:,} messages, {r['requests']:,} requests in {r['seconds']:.1f} s "
                f"({r['cpu']:.1f} s CPU, {r['request_ms']:.0f} ms per request): "
                f"{r['requests_per_s']:.1f} requests/s (ceiling 4 in flight = {ceiling:.0f}/s): {share:.0%}"
            )
            print(
                f"   429 answers: {r['throttled']}; most in flight: {r['max_in_flight']} / 4   "
                f"{verdict(ok)} (inside the limits; the share is informative)\n"
            )
        if args.graph_paced:
            # Same rate as 10,000 / 600 s, in a window 100 times shorter (fake and client).
            for box in microsoft.mailboxes.values():
                box.window.limit, box.window.seconds = 100, 6.0
            microsoft.window_requests, microsoft.window_seconds = 100, 6.0
            rate = 10_000 / 600
            print(
                f"3. Graph initial sync, {args.graph_paced:,} messages, sustained rate "
                f"({rate:.1f} requests/s; window compressed to 100 requests / 6 s)"
            )
            r = bench_graph(microsoft, GRAPH_PACED, args.graph_paced, compressed=True)
            peak = microsoft.mailbox(GRAPH_PACED).window.peak
            share = r["requests_per_s"] / rate
            ok = r["throttled"] == 0 and peak <= 100 and share >= 0.8
            results_ok &= ok
            print(
                f"   {r['new']:,} messages, {r['requests']:,} requests in {r['seconds']:.1f} s "
                f"({r['cpu']:.1f} s CPU, {r['request_ms']:.0f} ms per request): "
                f"{r['requests_per_s']:.1f} requests/s (ceiling {rate:.1f}): {share:.0%}"
            )
            print(
                f"   429 answers: {r['throttled']}; most requests in any window: {peak:.0f} / 100"
                f"   {verdict(ok)}"
            )
    finally:
        google.stop()
        microsoft.stop()
    sys.exit(0 if results_ok else 1)


if __name__ == "__main__":
    main()
