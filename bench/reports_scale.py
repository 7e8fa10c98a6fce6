"""Reports at scale: a year of a workspace with 1,000,000 messages, in under 500 ms p95.

Builds (once, then kept) `trupeo_bench_reports_<messages>`: a workspace whose reports' facts
and rollups are those of 200,000 conversations and 1,000,000 messages received over the last
365 days (about 2.5 messages from requesters and 2.5 replies per conversation, 3 mailboxes, 10
agents, 8 tags), written by the same code the pipeline uses (`reports.aggregates`). The report
reads only these tables, so the mail itself is not generated. Then the real pages are requested
through Django's test client as the owner: the report over the year (no filter, and filtered by
mailbox, tag and assignee, per week), and its CSV export. Prints p50 / p95 / max server time.

Needs PostgreSQL: DATABASE_URL (any database on the server) or --database-url.

  .venv/bin/python bench/reports_scale.py                  # 200k conversations / 1M messages
  .venv/bin/python bench/reports_scale.py --quick          # 2,000 / 10,000, to check it works
"""

import argparse
import os
import random
import shlex
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox_scale import django_setup as inbox_django_setup  # noqa: E402

DATABASE = "trupeo_bench_reports_{messages}"
TARGET_MS = 500
CHUNK = 5000


def database_urls(given: str, database: str) -> tuple[str, str]:
    base = given or os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return "", ""
    server, _, _name = base.rpartition("/")
    return f"{server}/{database}", f"{server}/postgres"


def database_create(server_url: str, database: str) -> bool:
    """True when the database was just created (empty)."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if not exists:
            admin.execute(f"CREATE DATABASE {database}")
    return not exists


def generate(conversations: int, messages: int) -> None:
    """The facts and rollups the pipeline would have kept for this workspace."""
    from django.db import transaction

    from accounts import services
    from accounts.models import Membership, Role, User
    from inbox.actions.tags import tag_get_or_create
    from inbox.mail.bulk_insert import rows_insert
    from inbox.mail.mailboxes import mailbox_create
    from reports.aggregates import Deltas, contribution_add
    from reports.durations import local_day, workspace_zone
    from reports.models import ConversationFact, FactTag, ReplyFact

    owner = User.objects.create_user(email="alice@lycee-bench.fr", name="Alice")
    workspace = services.workspace_create(name="Bench", slug="bench", owner=owner)
    agents = [owner] + [
        User.objects.create_user(email=f"agent{n}@lycee-bench.fr", name=f"Agent {n}")
        for n in range(1, 10)
    ]
    for agent in agents[1:]:
        Membership.objects.create(workspace=workspace, user=agent, role=Role.AGENT)
    mailboxes = [
        mailbox_create(workspace=workspace, address=f"{name}@lycee-bench.fr")
        for name in ("scolarite", "vie-scolaire", "intendance")
    ]
    tags = [
        tag_get_or_create(workspace=workspace, name=name)
        for name in (
            "Absences",
            "Bourses",
            "Cantine",
            "Stages",
            "Voyages",
            "Inscriptions",
            "Devis",
            "Urgent",
        )
    ]
    zone = workspace_zone(workspace.pk)
    rng = random.Random(18)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    replies_per = max(0.0, (messages - conversations) / conversations / 2)  # the rest is requesters
    message_id = 0
    deltas = Deltas()  # the rollups of the whole workspace, written once at the end
    for start in range(0, conversations, CHUNK):
        facts, fact_tags, replies = [], [], []
        for n in range(start, min(conversations, start + CHUNK)):
            cid = n + 1
            # Weekdays and office hours are busier, as a school's mail is.
            received = end - timedelta(seconds=rng.randrange(365 * 86400))
            local = received.astimezone(zone)
            if (local.weekday() >= 5 and rng.random() < 0.7) or (
                not 7 <= local.hour <= 19 and rng.random() < 0.6
            ):
                received -= timedelta(hours=rng.randrange(1, 14))
            mailbox = rng.choice(mailboxes)
            assignee = rng.choice(agents) if rng.random() < 0.85 else None
            first_reply = rng.lognormvariate(8.5, 1.2) if rng.random() < 0.9 else None
            closed = rng.lognormvariate(11, 1.1) if rng.random() < 0.75 else None
            fact = ConversationFact(
                workspace_id=workspace.pk,
                conversation_id=cid,
                mailbox_id=mailbox.pk,
                assignee_id=assignee.pk if assignee else None,
                counted=rng.random() > 0.05,
                received_at=received,
                received_day=local_day(received, zone),
                received_hour=received.astimezone(zone).hour,
                first_reply_at=received + timedelta(seconds=first_reply) if first_reply else None,
                closed_at=received + timedelta(seconds=closed) if closed else None,
                closed_day=local_day(received + timedelta(seconds=closed), zone)
                if closed
                else None,
                first_reply_seconds=int(first_reply) if first_reply else None,
                resolution_seconds=int(closed) if closed else None,
                tag_ids=sorted({t.pk for t in rng.sample(tags, rng.choice([0, 0, 1, 1, 2]))}),
            )
            mine = []
            for r in range(int(replies_per) + (rng.random() < replies_per % 1)):
                message_id += 1
                author = assignee or rng.choice(agents)
                sent = received + timedelta(seconds=(first_reply or 3600) * (r + 1))
                mine.append(
                    ReplyFact(
                        workspace_id=workspace.pk,
                        message_id=message_id,
                        conversation_id=cid,
                        author_id=author.pk if rng.random() < 0.9 else None,
                        sent_at=sent,
                        day=local_day(sent, zone),
                    )
                )
            facts.append(fact)
            fact_tags += [
                FactTag(workspace_id=workspace.pk, conversation_id=cid, tag_id=t)
                for t in fact.tag_ids
            ]
            replies += mine
            contribution_add(deltas, fact, mine, sign=1)
        with transaction.atomic():  # COPY, as the pipeline writes messages
            rows_insert(facts)
            rows_insert(fact_tags)
            rows_insert(replies)
        print(f"   {min(conversations, start + CHUNK):,} conversations", end="\r", flush=True)
    print()
    rollups_write(workspace.pk, deltas)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def rollups_write(workspace_id: int, deltas) -> None:
    """The rollups of a fresh workspace in one insert each (what `deltas_apply` would add)."""
    from inbox.mail.bulk_insert import rows_insert
    from reports.models import DailyCount, HourCount, ReplyCount

    daily: dict[tuple, list[int]] = {}
    for key, n in deltas.received.items():
        daily.setdefault(key, [0, 0])[0] += n
    for key, n in deltas.closed.items():
        daily.setdefault(key, [0, 0])[1] += n
    rows_insert(
        [
            DailyCount(
                workspace_id=workspace_id,
                day=d,
                mailbox_id=m,
                assignee_id=a,
                tag_id=t,
                received=r,
                closed=c,
            )
            for (d, m, a, t), (r, c) in daily.items()
        ],
    )
    rows_insert(
        [
            HourCount(
                workspace_id=workspace_id,
                day=d,
                hour=h,
                mailbox_id=m,
                assignee_id=a,
                tag_id=t,
                received=n,
            )
            for (d, h, m, a, t), n in deltas.hourly.items()
        ],
    )
    rows_insert(
        [
            ReplyCount(
                workspace_id=workspace_id,
                day=d,
                mailbox_id=m,
                assignee_id=a,
                tag_id=t,
                author_id=u,
                replies=n,
            )
            for (d, m, a, t, u), n in deltas.replies.items()
        ],
    )
    print(
        f"   rollups: {len(daily):,} daily, {len(deltas.hourly):,} hourly, {len(deltas.replies):,} reply rows"
    )


def measure(client, url: str, repeat: int) -> list[float]:
    for _ in range(2):
        client.get(url)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.messages, args.repeat = 2_000, 10_000, 5
    database = DATABASE.format(messages=args.messages)
    url, server_url = database_urls(args.database_url, database)
    if not url:
        print("5. Reports at scale: skipped, it needs PostgreSQL (DATABASE_URL=postgres://…).")
        return
    print(
        f"5. Reports at scale: a year of {args.conversations:,} conversations, {args.messages:,} messages (database {database})"
    )
    fresh = database_create(server_url, database)
    inbox_django_setup(url, data_prefix="trupeo-bench-reports-")
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import Membership, User
    from inbox.models import Mailbox, Tag
    from reports.models import ConversationFact

    call_command("migrate", verbosity=0)
    if fresh or not ConversationFact.objects.exists():
        print("   generating (kept for the next runs)…", flush=True)
        started = time.perf_counter()
        generate(args.conversations, args.messages)
        print(f"   generated in {time.perf_counter() - started:.0f} s")
    else:
        print("   kept database reused")
    owner = User.objects.get(email="alice@lycee-bench.fr")
    workspace = Membership.objects.get(user=owner).workspace
    client = Client()
    client.force_login(owner)
    today = datetime.now(UTC).date()
    year = f"since={today - timedelta(days=364)}&until={today}"
    mailbox = Mailbox.objects.filter(workspace=workspace).order_by("pk").first()
    tag = Tag.objects.filter(workspace=workspace).order_by("pk").first()
    items = [
        ("report, one year, per day", f"/reports/?{year}"),
        ("report, one year, per week", f"/reports/?{year}&group=week"),
        ("report, one year, one mailbox", f"/reports/?{year}&mailbox={mailbox.pk}"),
        ("report, one year, one tag", f"/reports/?{year}&tag={tag.pk}"),
        ("report, one year, one assignee", f"/reports/?{year}&assignee={owner.pk}"),
        ("CSV of reply times, one year", f"/reports/times.csv?{year}"),
    ]
    print(f"\n{'item':<40} {'p50':>6} {'p95':>6} {'max':>6} {'target':>6}")
    missed = 0
    for label, path in items:
        times = sorted(measure(client, path, args.repeat))
        p50 = times[len(times) // 2] * 1000
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000
        ok = p95 <= TARGET_MS
        missed += not ok
        print(
            f"{label:<40} {p50:6.0f} {p95:6.0f} {times[-1] * 1000:6.0f} {TARGET_MS:6d}  {'OK' if ok else 'MISSED'}"
        )
    print(
        f"\n{len(items) - missed} of {len(items)} within target (ms, server time over {args.repeat} requests after 2 warm-ups; load {os.getloadavg()[0]:.2f})."
    )
    command = [
        ".venv/bin/python",
        "bench/reports_scale.py",
        "--conversations",
        str(args.conversations),
        "--messages",
        str(args.messages),
    ]
    print(f"reproduce: DATABASE_URL={shlex.quote(url)} {' '.join(command)}")


if __name__ == "__main__":
    main()
