"""The shared inbox at scale: server time of lists, a conversation and searches.

Generates (once, then kept) a workspace of 200,000 conversations and 1,000,000 messages, sealed
and indexed like real mail (see bench/inbox_data.py), in a dedicated PostgreSQL database, then
requests the real pages through Django's test client as a logged-in member and reports
p50 / p95 / max server time and queries per request for:

  - the first page of each list (whatever `inbox.selectors.conversation_list.LISTS` holds
    today, plus one tag and one mailbox when the page links to them),
  - page 50 of "All open", reached by following the "Show more" links (keyset `after` cursor),
  - a conversation of 20 messages,
  - ten searches (free words, from:, subject:, has:attachment, is:, assignee:me, tag:,
    before:/after:),
  - the contact panel beside that conversation (loaded by htmx after the page), the contacts
    page and a contact search (contacts are made once from the stored envelopes, by the same
    backfill an operator runs, and kept: `_contacts_ready`).

Targets (issue "shared inbox", 2-core machine): p95 <= 50 ms for lists, <= 80 ms for the
conversation and its contact panel, <= 200 ms for searches. A missed target prints the EXPLAIN ANALYZE of its
slowest query.

Needs PostgreSQL: DATABASE_URL (any database on the server; `trupeo_bench_inbox_<size>` is used) or
--database-url. The generated database is kept between runs when its size and generator
version match; --regenerate forces a new one.

  .venv/bin/python bench/inbox_scale.py                 # 200k conversations / 1M messages
  .venv/bin/python bench/inbox_scale.py --quick         # 2,000 / 10,000, to check it works
  .venv/bin/python bench/inbox_scale.py --conversations 20000 --messages 100000
"""

import argparse
import base64
import cProfile
import gc
import hashlib
import html
import io
import json
import os
import pstats
import re
import shlex
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# One kept database per size (trupeo_bench_inbox_<conversations>_<messages>): a quick run
# does not throw away the big one.
DATABASE = "trupeo_bench_inbox_{conversations}_{messages}"
# Fixed, bench-only: the kept database's workspace key stays readable from one run to the next.
MASTER_KEYS = "bench:YmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE="
TARGETS_MS = {"list": 50, "conversation": 80, "search": 200, "panel": 80}
MEMBERS = [
    ("alice@lycee-bench.fr", "Alice Martin"),
    ("bob@lycee-bench.fr", "Bob Durand"),
    ("chloe@lycee-bench.fr", "Chloé Bernard"),
    ("david@lycee-bench.fr", "David Petit"),
    ("emma@lycee-bench.fr", "Emma Robert"),
    ("farid@lycee-bench.fr", "Farid Haddad"),
    ("gaelle@lycee-bench.fr", "Gaëlle Richard"),
    ("hugo@lycee-bench.fr", "Hugo Moreau"),
    ("ines@lycee-bench.fr", "Inès Laurent"),
    ("jules@lycee-bench.fr", "Jules Simon"),
]


def _urls(given: str, database: str) -> tuple[str, str]:
    """(URL of the bench database, URL of the server's `postgres` database)."""
    base = given or os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        return "", ""
    server, _, _name = base.rpartition("/")
    return f"{server}/{database}", f"{server}/postgres"


def django_setup(url: str, data_prefix: str = "trupeo-bench-inbox-") -> None:
    """Django on the bench database, as in production (DEBUG off) but mail kept in memory."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "trupeo.settings",
            "DATABASE_URL": url,
            "DEBUG": "False",
            "TRUPEO_MAIL_TO_MEMORY": "True",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            "TRUPEO_MASTER_KEYS": MASTER_KEYS,
            "TRUPEO_DATA_DIR": tempfile.mkdtemp(prefix=data_prefix),
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "False",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    # WhiteNoise warns that collectstatic never ran: irrelevant to server time.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    from django.conf import settings

    # As in the tests: static files served as they are (no collectstatic manifest here).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _admin(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql)


def _stored_marker(server_url: str, database: str) -> dict | None:
    import psycopg

    with psycopg.connect(server_url) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [database],
        ).fetchone()
    if row is None:
        return None
    try:
        return json.loads(row[0] or "")
    except ValueError:
        return {}


def _prepare_database(args, server_url: str) -> dict | None:
    """The marker of a kept database that fits, else None (and a fresh, empty database)."""
    from bench.inbox_data import GENERATOR_VERSION

    marker = _stored_marker(server_url, args.database)
    # Generated by this generator at this size: kept. A newer schema is migrated forward
    # (in `main`), as a live database would be.
    fits = (
        marker
        and marker.get("version") == GENERATOR_VERSION
        and marker.get("conversations") == args.conversations
        and marker.get("messages") == args.messages
    )
    if fits and not args.regenerate:
        return marker
    if marker is not None:
        _admin(server_url, f"DROP DATABASE {args.database}")
    _admin(server_url, f"CREATE DATABASE {args.database}")
    return None


def _schema() -> str:
    """The migrations the code has: a kept database generated under others is rebuilt."""
    from django.db.migrations.loader import MigrationLoader

    names = sorted(f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _generate(args, server_url: str) -> dict:
    from django.db import connection

    from accounts import services
    from accounts.keys import keys_for
    from accounts.models import Membership, Role, User
    from bench.inbox_data import GENERATOR_VERSION, generate
    from inbox.mail.mailboxes import mailbox_create
    from inbox.mail.sealing import seal_json

    users = [User.objects.create_user(email, name=name) for email, name in MEMBERS]
    workspace = services.workspace_create(name="Lycée Bench", slug="bench", owner=users[0])
    for user in users[1:]:
        Membership.objects.create(workspace=workspace, user=user, role=Role.AGENT)
    mailboxes = [
        mailbox_create(workspace=workspace, address="scolarite@lycee-bench.fr"),
        mailbox_create(workspace=workspace, address="intendance@lycee-bench.fr"),
    ]
    started = time.monotonic()
    generated = generate(
        workspace=workspace,
        mailboxes=mailboxes,
        members=users,
        conversations=args.conversations,
        messages=args.messages,
        progress=lambda text: print(text, flush=True),
    )
    print("  VACUUM ANALYZE…", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum would have done on a live database
    seconds = time.monotonic() - started
    size = _database_size()
    # The sample words (a customer's address…) are content: kept sealed, like everything else.
    samples = seal_json(keys_for(workspace), generated.__dict__, field="bench.samples", row="bench")
    marker = {
        "version": GENERATOR_VERSION,
        "schema": _schema(),
        "conversations": args.conversations,
        "messages": args.messages,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds),
        "size": size,
        "samples": base64.b64encode(samples).decode(),
    }
    _store_marker(server_url, args.database, marker)
    return marker


def _store_marker(server_url: str, database: str, marker: dict) -> None:
    comment = json.dumps(marker).replace("'", "''")
    _admin(server_url, f"COMMENT ON DATABASE {database} IS '{comment}'")


def _database_size() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cursor.fetchone()[0]


def samples_of(marker: dict):
    from accounts.keys import keys_for
    from accounts.models import Workspace
    from bench.inbox_data import Generated
    from inbox.mail.sealing import open_json

    workspace = Workspace.objects.get(slug="bench")
    blob = base64.b64decode(marker["samples"])
    stored = open_json(keys_for(workspace), blob, field="bench.samples", row="bench")
    return Generated(**{k: v for k, v in stored.items() if k in Generated.__dataclass_fields__})


# ----------------------------------------------------------------------------- measuring

_CONVERSATION_LINK = re.compile(r'href="/(?:[a-z]{2}/)?inbox/c/(\d+)/"')
_MORE_LINK = re.compile(r'href="([^"]*[?&](?:amp;)?after=[^"]*)"')


def _rows(page: str) -> int:
    return len(set(_CONVERSATION_LINK.findall(page)))


class Item:
    def __init__(self, label: str, kind: str, url: str, headers: dict | None = None):
        self.label, self.kind, self.url, self.headers = label, kind, url, headers or {}
        self.times: list[float] = []  # wall clock per request (the number the targets are for)
        self.cpu: list[float] = []  # this process's CPU per request: less hurt by other load
        self.queries = 0
        self.db_ms = 0.0  # time inside queries, in the instrumented request
        self.pg_ms = 0.0  # PostgreSQL's own execution time of its SELECTs (EXPLAIN ANALYZE)
        self.rows = 0
        self.slowest: tuple[float, str, object] = (0.0, "", None)
        self.profile = ""

    @property
    def target(self) -> int:
        return TARGETS_MS[self.kind]

    def p(self, q: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.times if values is None else values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    @property
    def ok(self) -> bool:
        return self.p(0.95) <= self.target


def _get(client, item: Item):
    response = client.get(item.url, headers=item.headers)
    if response.status_code != 200:
        raise SystemExit(f"{item.label}: {item.url} answered {response.status_code}")
    return response


def _measure(client, item: Item, repeat: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm-up: caches, prepared plans, the pages in shared buffers
        _get(client, item)
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        _get(client, item)
        item.times.append(time.perf_counter() - started)
        item.cpu.append(time.process_time() - cpu)
    # One more, instrumented (not timed): the queries, and the slowest one with its parameters.
    seen: list[tuple[float, str, object]] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append((time.perf_counter() - started, sql, params))

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timed):
        page = _get(client, item).content.decode()
    item.queries = len(captured.captured_queries)
    item.rows = _rows(page)
    item.db_ms = sum(s[0] for s in seen) * 1000
    # Wall time inside queries is inflated by other load on the machine; PostgreSQL's own
    # execution time of the same statements is not (much), and names the query to look at.
    executed = [(_execution_ms(sql, params), sql, params) for _ms, sql, params in seen]
    item.pg_ms = sum(e[0] for e in executed)
    item.slowest = max(executed, key=lambda e: e[0]) if executed else item.slowest
    if not item.ok:
        item.profile = _profile(client, item)


def _profile(client, item: Item) -> str:
    """Where the Python time of a slow request goes: the project's functions and template
    rendering, by cumulative time (psycopg's `wait` is time spent waiting for PostgreSQL)."""
    profiler = cProfile.Profile()
    profiler.runcall(_get, client, item)
    out = io.StringIO()
    ours = rf"{re.escape(str(ROOT))}/(?!\.venv)|django/template/loader\.py|psycopg/connection\.py"
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(ours, 14)
    lines = out.getvalue().splitlines()
    header = next((i for i, line in enumerate(lines) if "tottime" in line), 0)
    return "\n".join(line.replace(str(ROOT) + "/", "") for line in lines[header:] if line.strip())


def _page_50(client, first_url: str) -> tuple[str, int]:
    """Follow "Show more" from the first page of All open: the 50th page (or the last one of
    a small inbox) and its number."""
    url, page = first_url, 1
    while page < 50:
        found = _MORE_LINK.search(client.get(url).content.decode())
        if not found:
            break
        url, page = urljoin(url, html.unescape(found.group(1))), page + 1
    return url, page


def _explain(sql: str, params, *options: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ({', '.join(options)}) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


_EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")


def _execution_ms(sql: str, params) -> float:
    """PostgreSQL's execution time of a SELECT (run again under EXPLAIN ANALYZE); 0 for
    anything else, which EXPLAIN ANALYZE would really execute."""
    if not sql.lstrip().upper().startswith("SELECT"):
        return 0.0
    lines = _explain(sql, params, "ANALYZE")
    found = next((m for line in lines if (m := _EXECUTION.search(line))), None)
    return float(found.group(1)) if found else 0.0


def _reply_clocks() -> None:
    """Every open conversation of the bench gets a reply-time clock (sla), half of them due
    within the next days and half already late, rebuilt on each run so that "due soon" always
    has rows ahead of now. One INSERT … SELECT: cheap next to the generation."""
    from django.db import connection, transaction

    # One bench at a time rebuilds them (two side by side would insert the same rows).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('trupeo-bench-reply-clocks'))")
        cursor.execute(
            "DELETE FROM sla_conversationclock WHERE workspace_id IN "
            "(SELECT id FROM accounts_workspace WHERE slug = 'bench')"
        )
        cursor.execute(
            """
            INSERT INTO sla_conversationclock (
                conversation_id, workspace_id, started_at, first_reply_due_at, due_at, alert_at,
                paused_seconds, first_reply_at_risk_sent, first_reply_late_sent,
                resolution_at_risk_sent, resolution_late_sent, paused_reason
            )
            SELECT c.id, c.workspace_id, c.last_message_at, d.due, d.due, d.due,
                   0, false, false, false, false, ''
            FROM inbox_conversation c
            JOIN accounts_workspace w ON w.id = c.workspace_id AND w.slug = 'bench'
            CROSS JOIN LATERAL (
                SELECT now() + (CASE WHEN c.id % 2 = 0 THEN 1 ELSE -1 END)
                       * ((c.id % 10000) * interval '1 minute') AS due
            ) d
            WHERE c.status = 'open'
            """
        )
        cursor.execute("ANALYZE sla_conversationclock")


def _items(client, samples) -> list[Item]:
    from django.urls import reverse

    from inbox.selectors.conversation_list import LISTS

    inbox = reverse("inbox")
    items = [Item(f"list: view={key}", "list", f"{inbox}?view={key}") for key in LISTS]
    # By tag and by mailbox, if the page offers them (the lead is adding them).
    first = client.get(f"{inbox}?view=open").content.decode()
    for name in ("tag", "mailbox"):
        link = re.search(rf'href="([^"]*[?&](?:amp;)?{name}=[^"&]+[^"]*)"', first)
        if link:
            url = urljoin(inbox, html.unescape(link.group(1)))
            items.append(Item(f"list: by {name} ({url.split('?', 1)[-1]})", "list", url))
    page_50, number = _page_50(client, f"{inbox}?view=open")
    items.append(Item(f"list: All open, page {number} (full page)", "list", page_50))
    # What the "Show more" button really sends: the next rows only.
    htmx = {"HX-Request": "true", "HX-Target": "more"}
    items.append(Item(f"list: All open, page {number} (Show more)", "list", page_50, htmx))
    # Reply-time goals (sla): the "due soon" and "late" lists, by deadline, and page 50.
    due = reverse("sla_due")
    items.append(Item("list: due soon (reply-time goals)", "list", f"{due}?view=due_soon"))
    items.append(Item("list: late (reply-time goals)", "list", f"{due}?view=late"))
    due_50, due_number = _page_50(client, f"{due}?view=due_soon")
    items.append(Item(f"list: due soon, page {due_number} (Show more)", "list", due_50, htmx))
    items.append(
        Item(
            "conversation: 20 messages",
            "conversation",
            reverse("conversation", args=[samples.twenty_id]),
        )
    )
    items += _contact_items(samples)
    for q in search_queries(samples):
        items.append(Item(f"search: {q}", "search", f"{inbox}?{urlencode({'q': q})}"))
    return items


def search_queries(samples) -> list[str]:
    """Ten searches an agent types: free words, from:, subject:, has:, is:, assignee:, tag:,
    a date range."""
    return [
        samples.frequent_word,
        "inscription dossier",
        samples.rare_word,
        f"from:{samples.customer_address}",
        f"from:{samples.customer_last_name}",
        f"subject:{samples.subject_word}",
        "has:attachment",
        "is:pending absence",
        "assignee:me is:open",
        f"tag:{samples.tag_name}",
        f"after:{samples.first_day} before:{samples.last_day} certificat",
    ]


def _contact_items(samples) -> list[Item]:
    """The contact panel (what htmx asks for once the conversation page is shown), the
    contacts page and a search of a customer's last name through the blind index."""
    from django.urls import reverse

    htmx = {"HX-Request": "true"}
    contacts = reverse("contacts")
    return [
        Item(
            "contact panel of the 20-message conversation",
            "panel",
            reverse("contact_panel", args=[samples.twenty_id]),
            htmx,
        ),
        Item("contacts: first page", "list", contacts),
        Item(
            f"contacts: search {samples.customer_last_name}",
            "search",
            f"{contacts}?{urlencode({'q': samples.customer_last_name})}",
        ),
        Item(
            "contacts: search by address",
            "search",
            f"{contacts}?{urlencode({'q': samples.customer_address})}",
        ),
    ]


def _contacts_ready(server_url: str, database: str, marker: dict) -> dict:
    """Contacts for the kept inbox, made once by the real backfill (it decrypts the stored
    envelopes in batches, as a worker would), then kept with the database: the million
    messages themselves are never generated again for this."""
    from django.db import connection

    from accounts.models import Workspace
    from contacts.backfill import contacts_backfill
    from contacts.models import Contact

    workspace = Workspace.objects.get(slug="bench")
    if marker.get("contacts") and Contact.objects.filter(workspace=workspace).exists():
        return marker
    print("   making contacts from the stored envelopes (kept for the next runs)…", flush=True)
    started = time.monotonic()

    def progress(done: int, created: int) -> None:
        if done % 100_000 < 2000:
            print(f"     {done:,} messages read, {created:,} contacts", flush=True)

    created = contacts_backfill(workspace=workspace, progress=progress)
    with connection.cursor() as cursor:
        for table in (
            "contacts_contact",
            "contacts_contactaddress",
            "contacts_contactconversation",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    seconds = round(time.monotonic() - started)
    marker["contacts"] = {"count": created, "seconds": seconds}
    _store_marker(server_url, database, marker)
    print(f"   {created:,} contacts made in {seconds} s")
    return marker


def _report(items: list[Item], args) -> None:
    print(
        f"\n{'item':<52} {'p50':>6} {'p95':>6} {'max':>6} {'target':>6}  {'':6} "
        f"{'cpu50':>6} {'db':>5} {'pg':>5} {'queries':>7} {'rows':>4}"
    )
    for item in items:
        rows = str(item.rows) if item.kind != "conversation" else "-"
        print(
            f"{item.label[:52]:<52} {item.p(0.5):6.1f} {item.p(0.95):6.1f} "
            f"{max(item.times) * 1000:6.1f} {item.target:6d}  {'OK' if item.ok else 'MISSED':6} "
            f"{item.p(0.5, item.cpu):6.1f} {item.db_ms:5.1f} {item.pg_ms:5.1f} {item.queries:7d} "
            f"{rows:>4}"
        )
    missed = [item for item in items if not item.ok]
    print(
        f"\n{len(items) - len(missed)} of {len(items)} within target. Times in ms: p50/p95/max "
        f"wall clock over {args.repeat} requests after 2 warm-ups (the targets are on p95); "
        "cpu50 = CPU of this process (Django: view, decryption, templates) at p50; db = wall "
        "time inside queries in one instrumented request; pg = PostgreSQL's own execution time "
        "of those queries (EXPLAIN ANALYZE); rows = conversations on the page."
    )
    for item in missed:
        ms, sql, _params = item.slowest
        print(
            f"\n--- MISSED {item.label}: p95 {item.p(0.95):.0f} ms (target {item.target}); "
            f"{item.db_ms:.0f} ms in {item.queries} queries ({item.pg_ms:.1f} ms executing in "
            f"PostgreSQL), the slowest there {ms:.1f} ms:"
        )
        print(sql)
        print("\n".join(_explain(sql, item.slowest[2], "ANALYZE", "BUFFERS")))
        print("Profile of one request (cumulative):")
        print(item.profile)


def kept_database(args) -> tuple[str, dict] | None:
    """Django set up on the kept database of `args.conversations` / `args.messages` (made
    the first time, migrated forward since): (its URL, its marker); None without PostgreSQL.
    bench/load.py uses it too."""
    args.database = DATABASE.format(conversations=args.conversations, messages=args.messages)
    url, server_url = _urls(args.database_url, args.database)
    if not url:
        return None
    django_setup(url)  # connects lazily: the database may not exist yet
    marker = _prepare_database(args, server_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    reused = marker is not None
    if reused and marker.get("schema") != _schema():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # after the migrations' own updates
        marker["schema"] = _schema()
        _store_marker(server_url, args.database, marker)
        print("   kept database migrated forward to the current schema")
    if reused:
        print(
            f"   kept database reused (generated {marker['generated_at']} in "
            f"{marker['seconds']} s, {marker['size']}; --regenerate to rebuild it)"
        )
    else:
        print("   generating (kept for the next runs)…", flush=True)
        marker = _generate(args, server_url)
        print(f"   generated in {marker['seconds']} s, database size {marker['size']}")
    marker = _contacts_ready(server_url, args.database, marker)
    _reply_clocks()
    return url, marker


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per item")
    parser.add_argument("--quick", action="store_true", help="2,000 / 10,000, 5 requests each")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the kept database")
    parser.add_argument("--database-url", default="", help="default: DATABASE_URL's server")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="measure only the items whose label starts with PREFIX (repeatable), "
        "e.g. --only contact",
    )
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.messages, args.repeat = 2_000, 10_000, 5
    print(
        f"4. Inbox at scale: {args.conversations:,} conversations, {args.messages:,} messages "
        f"(database {DATABASE.format(conversations=args.conversations, messages=args.messages)})"
    )
    kept = kept_database(args)
    if kept is None:
        print("   skipped, it needs PostgreSQL (DATABASE_URL=postgres://…).")
        return
    url, marker = kept
    from django.test import Client

    from accounts.models import User

    samples = samples_of(marker)
    client = Client()
    client.force_login(User.objects.get(email=MEMBERS[0][0]))
    items = _items(client, samples)
    if args.only:
        items = [item for item in items if item.label.startswith(tuple(args.only))]
    # As trupeo/wsgi.py does in a server worker once everything is loaded.
    gc.freeze()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"   measuring {len(items)} items at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {load}",
        flush=True,
    )
    for item in items:
        _measure(client, item, args.repeat)
    _report(items, args)
    command = [
        ".venv/bin/python",
        "bench/inbox_scale.py",
        "--conversations",
        str(args.conversations),
        "--messages",
        str(args.messages),
        "--repeat",
        str(args.repeat),
    ]
    print(f"\nreproduce: DATABASE_URL={shlex.quote(url)} {' '.join(command)}")


if __name__ == "__main__":
    main()
