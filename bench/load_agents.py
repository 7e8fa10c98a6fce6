"""The Locust agents of bench/load.py (run by it, headless; never imported by the tests:
Locust patches the standard library with gevent).

Each simulated agent is one of the workspace's members, signed in with a session made by
bench/load.py, and clicks as an agent does during the day: lists (open, mine, unassigned, a
mailbox, a tag, the next page), conversations, searches, notes, assignments and replies, with
the htmx requests the browser sends along (the sidebar's counts). Think time between clicks:
0.5-1.5 s, or none for the capacity run (TRUPEO_LOAD_THINK=0).
"""

import html
import json
import os
import random
import re
from collections import Counter
from urllib.parse import urljoin

from locust import HttpUser, between, constant, events, task

PLAN = json.loads(open(os.environ["TRUPEO_LOAD_PLAN"]).read())  # noqa: SIM115
THINK = os.environ.get("TRUPEO_LOAD_THINK", "1") == "1"
WRITES: Counter = Counter()  # writes the server confirmed, by kind, for the lost-write check
# (conversation, assignee) of each confirmed assignment: assigning the person already
# assigned changes nothing and records nothing, so the check is per pair, not a count.
ASSIGNED: list[tuple[int, int]] = []

_MORE = re.compile(r'href="([^"]*[?&](?:amp;)?after=[^"]*)"')
_DRAFT = re.compile(r'action="/inbox/drafts/(\d+)/send/"')
_FIELD = re.compile(r'<input[^>]*name="(to|cc|bcc|subject|seen)"[^>]*value="([^"]*)"')
_CONFIRM = re.compile(r'name="(confirm_[a-z_]+)"[^>]*value="([^"]*)"')
_HTMX = {"HX-Request": "true"}


class Agent(HttpUser):
    wait_time = between(0.5, 1.5) if THINK else constant(0)

    def on_start(self) -> None:
        member = PLAN["members"][self.environment.runner.user_count % len(PLAN["members"])]
        self.member_id = member["id"]
        self.client.cookies.set("sessionid", member["session"])
        self.client.cookies.set("csrftoken", member["csrf"])
        self.csrf = member["csrf"]

    def _post(self, path: str, data: dict, name: str, *, htmx: bool = True):
        headers = {"X-CSRFToken": self.csrf, "Referer": self.host + path}
        if htmx:
            headers |= _HTMX
        return self.client.post(path, data=data, headers=headers, name=name)

    @task(12)
    def lists(self) -> None:
        view = random.choice(PLAN["lists"])
        response = self.client.get(view, name="list")
        self.client.get("/inbox/counts/", headers=_HTMX, name="counts")
        more = _MORE.search(response.text or "") if random.random() < 0.3 else None
        if more:  # the link is relative ("?view=…&after=…"): resolved as the browser does
            self.client.get(urljoin(view, html.unescape(more.group(1))), name="list, next page")

    @task(10)
    def conversation(self) -> None:
        self.client.get(f"/inbox/c/{random.choice(PLAN['conversations'])}/", name="conversation")

    @task(5)
    def search(self) -> None:
        query = random.choice(PLAN["searches"])
        self.client.get("/inbox/", params={"q": query}, name="search")

    @task(3)
    def note(self) -> None:
        conversation = random.choice(PLAN["conversations"])
        data = {"action": "note", "body": f"Note de charge {random.randrange(10**9)}"}
        response = self._post(f"/inbox/c/{conversation}/triage/", data, "note")
        if response.status_code == 200:
            WRITES["notes"] += 1

    @task(3)
    def assign(self) -> None:
        conversation = random.choice(PLAN["conversations"])
        assignee = random.choice(PLAN["members"])["id"]
        data = {"action": "assign", "assignee": str(assignee)}
        response = self._post(f"/inbox/c/{conversation}/triage/", data, "assign")
        if response.status_code == 200:
            WRITES["assignments"] += 1
            ASSIGNED.append((conversation, assignee))

    @task(2)
    def reply(self) -> None:
        conversation = random.choice(PLAN["conversations"])
        opened = self._post(f"/inbox/c/{conversation}/reply/", {"kind": "reply"}, "reply: open")
        page = opened.text or ""
        draft = _DRAFT.search(page)
        if opened.status_code != 200 or draft is None:
            return
        data = {name: html.unescape(value) for name, value in _FIELD.findall(page)}
        data["body"] = "Bonjour, c'est noté. Bien cordialement."
        sent = self._post(f"/inbox/drafts/{draft.group(1)}/send/", data, "reply: send")
        confirm = _CONFIRM.findall(sent.text or "")
        if confirm:  # an outside address: confirmed as the agent would
            for name, value in confirm:
                data.setdefault(name, html.unescape(value))
            sent = self._post(f"/inbox/drafts/{draft.group(1)}/send/", data, "reply: send")
        if sent.status_code == 204:  # queued; htmx follows HX-Redirect to the conversation
            WRITES["replies"] += 1
            self.client.get(sent.headers.get("HX-Redirect", "/inbox/"), name="conversation")


@events.quitting.add_listener
def _report_writes(environment, **kwargs) -> None:
    with open(os.environ["TRUPEO_LOAD_WRITES"], "w") as out:
        json.dump({**WRITES, "assigned": ASSIGNED}, out)
