"""Time to inbox through push, for Gmail and Microsoft 365 (issue 19, "New mail in seconds").

Everything runs as in production, on this machine: the web app under gunicorn (the push
endpoints), a Celery worker (2 processes) with a Redis broker, and the local fakes of Google
and Microsoft (tests/parts/*_fake.py) in this process. The Gmail fake holds a `users.watch` and
pushes each new INBOX message through its Pub/Sub push with a signed OIDC token; the Graph
fake holds a subscription (validated against the live app) and posts a change notification.
Each provider request takes `--latency` seconds (the network and the provider's own time).

Measured: a message added on the provider's side -> its row in the inbox database (push ->
verified -> sync queued -> worker -> history/delta -> fetched -> stored), median over
`--arrivals` messages per provider. Target: median <= 5 s.

PostgreSQL when DATABASE_URL is set (a fresh `trupeo_bench_push` database), else SQLite.
Reproduce: .venv/bin/python bench/push.py --arrivals 15 --latency 0.1
"""

import argparse
import os
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
from tests.parts.google_fake import GoogleFake  # noqa: E402
from tests.parts.http_fake import certificate_files  # noqa: E402
from tests.parts.microsoft_fake import TENANT, MicrosoftFake  # noqa: E402
from tests.parts.redis import OwnRedis  # noqa: E402

GMAIL = "scolarite@lycee-bench.fr"
GRAPH = "contact@lycee-bench.fr"


def _wait_http(url: str, seconds: float = 60) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--arrivals", type=int, default=15)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="trupeo-bench-push-"))
    google = GoogleFake(latency=args.latency).start()
    microsoft = MicrosoftFake(latency=args.latency).start()
    microsoft.allow_http = True  # gunicorn on loopback speaks HTTP; Graph itself wants HTTPS
    redis = OwnRedis(port=free_loopback_port(), directory=workdir)
    redis.start()
    port = free_loopback_port()
    web = f"http://127.0.0.1:{port}"
    google.push_endpoint = google.push_audience = f"{web}/hooks/gmail/"
    os.environ.update(
        {
            "DEBUG": "False",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TRUPEO_MAIL_TO_MEMORY": "True",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            "TRUPEO_MASTER_KEYS": "bench:YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE=",
            "TRUPEO_DATA_DIR": str(workdir),
            "DATABASE_URL": _database_url("trupeo_bench_push", workdir),
            "REDIS_URL": redis.url,
            "SECURE_SSL_REDIRECT": "False",
            "LOG_LEVEL": "WARNING",
            # The web app is on loopback; production refuses a private notification URL.
            "TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS": "True",
            "REQUESTS_CA_BUNDLE": certificate_files()[0],
            "GOOGLE_CLIENT_ID": google.client_id,
            "GOOGLE_CLIENT_SECRET": google.client_secret,
            "GOOGLE_TOKEN_URL": google.url + "/token",
            "GOOGLE_AUTH_URL": google.url + "/o/oauth2/v2/auth",
            "GMAIL_API_BASE_URL": google.url,
            "GOOGLE_CERTS_URL": google.url + "/oauth2/v1/certs",
            "GMAIL_PUBSUB_TOPIC": google.topic,
            "GMAIL_PUSH_SERVICE_ACCOUNT": google.service_account,
            "GMAIL_PUSH_AUDIENCE": google.push_audience,
            "MICROSOFT_CLIENT_ID": microsoft.client_id,
            "MICROSOFT_CLIENT_SECRET": microsoft.client_secret,
            "MICROSOFT_TENANT": TENANT,
            "MICROSOFT_LOGIN_BASE_URL": microsoft.url,
            "MICROSOFT_GRAPH_BASE_URL": microsoft.url,
            "GRAPH_NOTIFICATION_URL": f"{web}/hooks/graph/",
            "DJANGO_SETTINGS_MODULE": "trupeo.settings",
        }
    )
    bin_dir = Path(PYTHON).parent
    processes = []
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
        processes.append(
            subprocess.Popen(
                [str(bin_dir / "gunicorn"), "trupeo.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
                 "--log-level", "warning"],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        processes.append(
            subprocess.Popen(
                [str(bin_dir / "celery"), "-A", "trupeo", "worker", "--concurrency=2",
                 "--loglevel=WARNING"],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        _wait_http(f"{web}/healthz/")

        import django

        django.setup()
        from accounts import services
        from inbox.mail.providers.connect import mailbox_connect_oauth
        from inbox.mail.push import push_start
        from inbox.mail.sync import mailbox_sync
        from inbox.models import Message, Provider

        workspace = services.workspace_create(name="Bench", slug="bench", owner=None)
        results = {}
        for label, fake, provider, address in (
            ("Gmail", google, Provider.GOOGLE, GMAIL),
            ("Microsoft 365", microsoft, Provider.MICROSOFT, GRAPH),
        ):
            mailbox, _created = mailbox_connect_oauth(
                workspace=workspace,
                provider=provider,
                address=address,
                credentials={
                    "refresh_token": fake.grant(address),
                    "access_token": "",
                    "expires_at": 0,
                },
            )
            for raw in corpus(20, seed=3):
                fake.add_message(address, raw)
            assert mailbox_sync(mailbox_id=mailbox.pk).ok
            assert push_start(mailbox=mailbox) is not None, f"{label}: push not started"
            time.sleep(2)  # the worker's own renew_push (queued at connection) is done
            delays = []
            for raw in corpus(args.arrivals, seed=17 + len(results)):
                began = time.monotonic()
                key = fake.add_message(address, raw)
                while not Message.objects.filter(mailbox=mailbox, provider_key=key).exists():
                    if time.monotonic() - began > 60:
                        raise SystemExit(f"{label}: a message did not arrive within 60 s")
                    time.sleep(0.02)
                delays.append(time.monotonic() - began)
                time.sleep(0.5)  # arrivals apart, as mail comes
            results[label] = (delays, [d["status"] for d in fake.deliveries])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        google.stop()
        microsoft.stop()
        redis.kill()

    print(
        f"Push time to inbox ({args.arrivals} arrivals each, {args.latency * 1000:.0f} ms per "
        f"provider request; gunicorn + a 2-process worker + Redis; target median <= 5 s)"
    )
    for label, (delays, statuses) in results.items():
        median = statistics.median(delays)
        refused = sum(1 for s in statuses if not 200 <= s < 300)
        print(
            f"   {label:14}: median {median * 1000:5.0f} ms, max {max(delays) * 1000:5.0f} ms, "
            f"{len(statuses)} notifications ({refused} not 2xx)   "
            f"{'OK' if median <= 5 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
