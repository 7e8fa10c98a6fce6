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
from http.cookiejar import Cookie, DefaultCookiePolicy
from urllib.parse import urlencode, urljoin, urlsplit

from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

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


def _cookie(host: str, name: str, value: str) -> Cookie:
    """A cookie for the server's host, as the browser holds it after signing in."""
    return Cookie(
        0, name, value, None, False, host, False, False, "/", True, False, None, False, None,
        None, {},
    )  # fmt: skip


class LoopbackIsSecure(DefaultCookiePolicy):
    """As browsers do, http://127.0.0.1 counts as a secure origin: the server's Secure
    cookies (it runs as in production, DEBUG off) are kept and sent back."""

    def set_ok_secure(self, cookie, request) -> bool:
        return True

    def return_ok_secure(self, cookie, request) -> bool:
        return True


class Agent(FastHttpUser):
    # geventhttpclient rather than requests: the generator shares the server's two cores, and
    # requests costs it several times the CPU per request (measured: bench/load.py prints it).
    wait_time = between(0.5, 1.5) if THINK else constant(0)

    def on_start(self) -> None:
        member = PLAN["members"][self.environment.runner.user_count % len(PLAN["members"])]
        self.member_id = member["id"]
        host = urlsplit(self.host).hostname or ""
        self.client.cookiejar.set_policy(LoopbackIsSecure())
        self.client.cookiejar.set_cookie(_cookie(host, "sessionid", member["session"]))
        self.client.cookiejar.set_cookie(_cookie(host, "csrftoken", member["csrf"]))
        self.csrf = member["csrf"]

    def _post(self, path: str, data: dict, name: str, *, htmx: bool = True):
        headers = {"X-CSRFToken": self.csrf, "Referer": self.host + path}
        if htmx:
            headers |= _HTMX
        return self.client.post(path, data=data, headers=headers, name=name)

    def _get(self, path: str, name: str, *, htmx: bool = False):
        """A page, never a redirect: signed out (sent to the sign-in page) is a failure."""
        headers = _HTMX if htmx else None
        with self.client.get(
            path, headers=headers, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} instead of the page")
        return response

    @task(12)
    def lists(self) -> None:
        view = random.choice(PLAN["lists"])
        response = self._get(view, "list")
        self._get("/inbox/counts/", "counts", htmx=True)
        more = _MORE.search(response.text or "") if random.random() < 0.3 else None
        if more:  # the link is relative ("?view=…&after=…"): resolved as the browser does
            self._get(urljoin(view, html.unescape(more.group(1))), "list, next page")

    @task(10)
    def conversation(self) -> None:
        self._get(f"/inbox/c/{random.choice(PLAN['conversations'])}/", "conversation")

    @task(5)
    def search(self) -> None:
        query = random.choice(PLAN["searches"])
        self._get("/inbox/?" + urlencode({"q": query}), "search")

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
            self._get(sent.headers.get("HX-Redirect", "/inbox/"), "conversation")


@events.quitting.add_listener
def _report_writes(environment, **kwargs) -> None:
    with open(os.environ["TRUPEO_LOAD_WRITES"], "w") as out:
        json.dump({**WRITES, "assigned": ASSIGNED}, out)
