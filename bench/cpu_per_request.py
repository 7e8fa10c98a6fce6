"""Where the time goes per request: the worker's CPU, measured in-process.

On a shared machine wall-clock latency measures the neighbours; the CPU a request costs the
worker process does not (PostgreSQL's own CPU is not in it: another process). Django's test
client, signed in as a member of the kept bench workspace of bench/inbox_scale.py (3,000
conversations by default), `time.process_time()` around each request, median of --repeat
after 3 warm-ups. `--profile PATH` prints cProfile's top functions for one of them instead.

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/cpu_per_request.py
  ... bench/cpu_per_request.py --profile list --sort cumulative
  ... bench/cpu_per_request.py --searches        (also each search of the load agents)
  ... bench/cpu_per_request.py --searches --profile "search: man"
"""

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox_scale import MEMBERS, kept_database, samples_of, search_queries  # noqa: E402


def _requests(client, user, ids: list[int]) -> dict:
    htmx = {"HTTP_HX_REQUEST": "true"}

    def note(i: int):
        data = {"action": "note", "body": f"Note de mesure {i}"}
        return client.post(f"/inbox/c/{ids[i]}/triage/", data, **htmx)

    def assign(i: int):
        data = {"action": "assign", "assignee": str(user.pk)}
        return client.post(f"/inbox/c/{ids[i]}/triage/", data, **htmx)

    return {
        "list": lambda i: client.get("/inbox/?view=open"),
        "counts": lambda i: client.get("/inbox/counts/", **htmx),
        "conversation": lambda i: client.get(f"/inbox/c/{ids[i]}/"),
        "search": lambda i: client.get("/inbox/?q=inscription"),
        "note": note,
        "assign": assign,
        "healthz": lambda i: client.get("/healthz/"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=3_000)
    parser.add_argument("--messages", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", default="", help="one request kind: print its profile")
    parser.add_argument("--sort", default="tottime", help="tottime or cumulative")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--searches",
        action="store_true",
        help="also one kind per search of bench/inbox_scale.py search_queries",
    )
    args = parser.parse_args()
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    kept = kept_database(args)
    if kept is None:
        print("   skipped, it needs PostgreSQL (DATABASE_URL=postgres://…).")
        return
    from django.test import Client

    from accounts.models import User
    from inbox.models import Conversation

    client = Client()
    user = User.objects.get(email=MEMBERS[0][0])
    client.force_login(user)
    ids = list(Conversation.objects.order_by("pk").values_list("pk", flat=True)[:200])
    kinds = _requests(client, user, ids)
    if args.searches:
        for q in search_queries(samples_of(kept[1])):
            url = "/inbox/?" + urlencode({"q": q})
            kinds[f"search: {q}"] = lambda i, url=url: client.get(url)
    gc.freeze()  # the setup's objects are not the requests' garbage
    if args.profile:
        hit = kinds[args.profile]
        for i in range(3):
            hit(i)
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for i in range(args.repeat):
            hit(i)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(40)
        print(out.getvalue())
        return
    print(
        f"   CPU per request (median of {args.repeat}, ms), load average {os.getloadavg()[0]:.2f}"
    )
    for name, hit in kinds.items():
        for i in range(3):
            hit(i)
        spent = []
        for i in range(args.repeat):
            started = time.process_time()
            response = hit(i)
            spent.append((time.process_time() - started) * 1000)
        status = response.status_code
        print(
            f"   {name[:40]:<14}{statistics.median(spent):8.1f}   min {min(spent):6.1f}   ({status})"
        )


if __name__ == "__main__":
    main()
