"""No input of any kind gives a 5xx: the whole URL configuration, walked with hostile values.

Every URL pattern (ours, allauth's, the public site, billing, the Django admin) is requested by
alice (owner), bob (agent), charlie (another workspace), an anonymous visitor and, for the admin,
a staff user: path parameters filled with ids beyond 64 bits, zero, NUL bytes, huge and unicode
strings; GET with every query parameter the code reads set to a hostile value; POST with every
field the code or the page's forms read set to one. Any status >= 500 fails, and the test
client re-raises any exception that leaks out of a view, so the traceback shows the cause.
PostgreSQL refuses what SQLite accepts (NUL bytes, integers beyond 64 bits): CI runs it there.
"""

import re
from contextlib import contextmanager
from datetime import UTC
from urllib.parse import quote

import pytest
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.datastructures import MultiValueDict

from accounts import services
from tests.factories import UserFactory
from tests.parts.stripe_fake import stripe_fake  # noqa: F401  (the fixture)
from tests.test_isolation import API_OBJECTS, OBJECTS
from tests.test_isolation import ctx as ctx  # the fixture, reused
from tests.urlwalk import Route, walk_urls
from trupeo.params import MAX_ID, parse_id, parse_moment

BEYOND_64_BITS = "99999999999999999999999"
JUST_ABOVE_BIGINT = "9223372036854775808"  # 2**63
HUGE = "x" * 20_000
LONG_DIGITS = "9" * 5000  # int() refuses more than 4,300 digits
NUL = "nul\x00byte"

# One value of each kind; each is sent in every parameter at once.
HOSTILE = [
    "999999999999999999999_1",  # a list cursor whose timestamp overflows
    "1_" + BEYOND_64_BITS,
    BEYOND_64_BITS,
    JUST_ABOVE_BIGINT,
    LONG_DIGITS,
    "0",
    "2026-13-45T10:00",  # a date that is not one
    "9999-12-31T23:59:59+14:00",
    NUL,
    "²",  # str.isdigit() says yes, int() says no
    HUGE,
    "ünïcødé 🙂 \u202e\u200b",
    "",
    "%s%n{0}{{x}}",
    "[]",
]
# The few that broke things first, for the users who reach less code.
FEW = ["999999999999999999999_1", BEYOND_64_BITS, LONG_DIGITS, "2026-13-45T10:00", NUL, "²", HUGE]

# Path parameters: for an int converter only digits reach the view; other converters take more.
PATH_INT = [BEYOND_64_BITS, JUST_ABOVE_BIGINT, "0"]
PATH_STR = [BEYOND_64_BITS, "-1", quote(NUL), "y" * 3000, quote("ünï🙂"), "%2e%2e"]

# Query parameter names read by the code (grep request.GET), the admin's and allauth's own.
QUERY_NAMES = {
    "view", "mailbox", "tag", "q", "after", "before", "v", "stamp", "download", "images",
    "seen", "part", "draft", "joined", "sent", "subject", "version", "code", "state", "error",
    "error_description", "scope", "next", "email", "process", "o", "p", "e", "all", "_popup",
    "_to_field", "_changelist_filters", "id", "pk", "session_id", "cursor", "rating",
}  # fmt: skip
# Form field names read by the code (grep request.POST and the forms); the page's own form
# fields are added to these as they are found.
FORM_NAMES = {
    "name", "slug", "accept_terms", "email", "role", "language", "next", "plan", "is_away",
    "email_assigned", "email_mentioned", "email_reply", "email_woke", "title", "body", "mailbox",
    "to", "cc", "bcc", "subject", "seen", "kind", "message", "remove", "confirm_outside",
    "activity", "assignee", "tag_name", "tag", "preset", "until", "status", "action", "into",
    "ids", "paused", "confirm_address", "signature", "color", "field", "pattern", "agents",
    "confirm_name", "confirm_email", "cf-turnstile-response", "gdpr_right", "audience",
    "address", "imap_host", "imap_port", "imap_username", "imap_password", "imap_security",
    "smtp_host", "smtp_port", "smtp_username", "smtp_password", "smtp_security", "save_anyway",
    "login", "password", "password1", "password2", "oldpassword", "remember", "code", "key",
    "token", "version", "right", "workspace", "received_at", "requester_name",
    "requester_email", "_selected_action", "index", "select_across", "post", "rating",
    "comment", "template_fr", "template_en", "expected_reply_hours", "auto_language",
}  # fmt: skip

# Views that branch on a field: each branch is walked with every other field hostile.
BRANCHES = {
    "conversation_triage": (
        "action",
        [
            "note",
            "follow",
            "unfollow",
            "trust_sender",
            "distrust_sender",
            "merge",
            "split",
            "assign",
            "status",
            "tag",
            "untag",
            "snooze",
            "wake",
        ],
    ),
    "conversations_bulk": ("action", ["assign", "status", "tag", "untag", "snooze", "wake"]),
    "composer_open": ("kind", ["reply", "reply_all", "forward"]),
    "conversation_presence": ("activity", ["leave", "replying"]),
    "mailbox_pause": ("next", ["edit"]),
    "mailbox_rules": ("kind", ["match", "round_robin", "assign"]),
    "tag_edit": ("action", ["delete"]),
    "rule_edit": ("action", ["delete"]),
    "public-contact-fr": ("subject", ["gdpr", "other"]),
}
# Forms that test a mail server connection when valid: never valid with these values, but
# the connection test is the `conn` part's concern, so it is not started from here.
NO_TEST_ACTION = {"mailbox_add", "mailbox_edit"}
NO_TEST_ACTION_FIELDS = {"action"}

_FIELD = re.compile(r"""\bname=["']([^"']+)["']""")


def _model_admin_prefixes() -> tuple[str, ...]:
    return tuple(f"admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry)


def _routes() -> list[Route]:
    """Every route but the registered models' admin pages (walked per model below)."""
    return [r for r in walk_urls() if not r.template.startswith(_model_admin_prefixes())]


def _admin_models() -> list[str]:
    return sorted(f"{m._meta.app_label}/{m._meta.model_name}" for m in admin.site._registry)


def _route_id(route: Route) -> str:
    return route.template or "/"


class Walk:
    """Sends the requests and fails on any 5xx (exceptions are re-raised by the client)."""

    def __init__(self, monkeypatch, world):
        self.monkeypatch = monkeypatch
        self.ctx = world
        self.seen = 0

    def check(self, client: Client, method: str, path: str, data=None, **extra):
        self.seen += 1
        response = getattr(client, method)(path, data, **extra)
        where = f"{client.who} {method.upper()} {path[:200]} {_short(data)}"
        assert response.status_code < 500, f"{where} gave {response.status_code}"
        return response


def _short(data) -> str:
    if not data:
        return ""
    text = repr(data if not isinstance(data, dict) else dict(list(data.items())[:6]))
    return text[:300]


def _client(user=None, who="anonymous") -> Client:
    client = Client(raise_request_exception=True)
    if user is not None:
        client.force_login(user)
    client.who = who
    return client


def _token_client(user, who: str) -> Client:
    """A REST API client with a read-write token of the user's workspace (api/)."""
    from api.tokens import token_create

    created = token_create(
        workspace=user.memberships.get().workspace,
        created_by=user,
        name=who,
        role="admin",
        scope="write",
    )
    client = Client(
        raise_request_exception=True, headers={"authorization": f"Bearer {created.secret}"}
    )
    client.who = who
    return client


@pytest.fixture
def cast(ctx, alice, bob, charlie):
    ctx["invitation_token"] = services.invitation_token(ctx["invitation"])
    return {
        "ctx": ctx,
        "clients": [
            (_client(alice, "alice"), HOSTILE),
            (_client(bob, "bob"), FEW),
            (_client(charlie, "charlie"), [FEW[0], NUL]),
            (_client(), [FEW[0], NUL]),
            (_requester(ctx), FEW),
        ],
        # The API answers tokens only: they walk its routes (the session clients get 401s).
        "api_clients": [
            (_token_client(alice, "alice-token"), HOSTILE),
            (_token_client(charlie, "charlie-token"), FEW),
        ],
    }


def _requester(ctx) -> Client:
    """The parent of alice's mail, signed in to alice's requester portal (no Django login)."""
    from django.http import HttpResponse

    from portal.actions import portal_enable
    from portal.signin import cookie_name, session_start

    portal_enable(workspace=ctx["workspace"])
    response = HttpResponse()
    session_start(
        workspace=ctx["workspace"],
        address="parent@example.fr",
        remember=True,
        device="hostile",
        response=response,
    )
    client = _client(who="requester")
    name = cookie_name(ctx["workspace"])
    client.cookies[name] = response.cookies[name].value
    return client


def _real_path(route: Route, world) -> str | None:
    """The route with alice's own objects in its parameters (None: no such object known)."""
    if not route.params:
        return route.path()
    if route.name in OBJECTS and "api" not in route.namespaces:
        value = OBJECTS[route.name](world)
        if isinstance(value, dict):  # every parameter by name (the portal's slug and id)
            return route.path(**{param: str(v) for param, v in value.items()})
        (param,) = route.params
        return route.path(**{param: str(value)})
    if route.name in API_OBJECTS and "api" in route.namespaces:
        (param,) = route.params
        return route.path(**{param: str(API_OBJECTS[route.name](world))})
    if set(route.params) == {"workspace_slug"}:  # the requester portal's pages
        return route.path(workspace_slug=world["workspace"].slug)
    if route.name == "portal_signin_link":
        return route.path(workspace_slug=world["workspace"].slug, secret="not-a-link")
    if route.name == "invitation_accept":
        return route.path(token=world["invitation_token"])
    if route.name in ("oauth_connect", "oauth_callback"):
        return route.path(provider="google")
    if route.name == "app_list":
        return route.path(app_label="inbox")
    if route.name is None and "admin" in route.namespaces:  # the admin's catch-all
        return route.path(url="inbox/nothing/")
    return None


def _hostile_paths(route: Route) -> list[str]:
    paths = []
    for param, converter in route.params.items():
        for value in PATH_INT if converter == "int" else PATH_STR:
            filled = {p: "1" for p in route.params} | {param: value}
            paths.append(route.path(**filled))
    return paths


def _form_names(html: str) -> set[str]:
    return {name for name in _FIELD.findall(html) if name != "csrfmiddlewaretoken"}


class _Reads:
    """The parameter names a view reads (request.GET / request.POST / forms), recorded by
    watching Django's MultiValueDict while one request runs. Copies (`dict()`, `items()`)
    are not reads: the poll URL copies every parameter without looking at any."""

    def __init__(self):
        self.names: set[str] = set()
        self.paused = 0


@contextmanager
def _reading(monkeypatch):
    reads = _Reads()
    getitem, getlist = MultiValueDict.__getitem__, MultiValueDict._getlist
    contains = dict.__contains__

    def watch(method):
        def watched(self, key, *args, **kwargs):
            # Only a finished request.GET / request.POST: building one reads it too.
            if not reads.paused and getattr(self, "_mutable", True) is False:
                reads.names.add(key)
            return method(self, key, *args, **kwargs)

        return watched

    def pausing(method):
        def paused(self, *args, **kwargs):
            reads.paused += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                reads.paused -= 1

        return paused

    with monkeypatch.context() as patch:
        patch.setattr(MultiValueDict, "__getitem__", watch(getitem))
        patch.setattr(MultiValueDict, "_getlist", watch(getlist))
        patch.setattr(MultiValueDict, "__contains__", watch(contains), raising=False)
        for name in ("dict", "items", "lists", "values", "copy", "__copy__", "__deepcopy__"):
            patch.setattr(MultiValueDict, name, pausing(getattr(MultiValueDict, name)))
        patch.setattr(QueryDict, "urlencode", pausing(QueryDict.urlencode))
        patch.setattr(QueryDict, "copy", pausing(QueryDict.copy))
        patch.setattr(QueryDict, "__copy__", pausing(QueryDict.__copy__))
        patch.setattr(QueryDict, "__deepcopy__", pausing(QueryDict.__deepcopy__))
        yield reads


_JSON = {"content_type": "application/json"}


def _at_once(value: str) -> str:
    # A huge value in every one of ~90 fields is a 2 MB body: refused whole (400) before any
    # view runs, so a huge value is tried field by field and a long one in all at once.
    return value[:500]


def _branches(route: Route, world) -> list[dict]:
    if route.name not in BRANCHES:
        return [{}]
    name, choices = BRANCHES[route.name]
    extra = {"ids": str(world["conversation"].pk)} if route.name == "conversations_bulk" else {}
    return [{}] + [{name: choice, **extra} for choice in choices]


def _walk_one(
    walk: Walk, client: Client, values: list[str], path: str, route: Route, *, alone: bool
) -> None:
    page = walk.check(client, "get", path)
    found = set()
    if page.status_code == 200 and "html" in page.get("Content-Type", ""):
        found = _form_names(page.content.decode(errors="replace"))
    fields = (FORM_NAMES | found) - (
        NO_TEST_ACTION_FIELDS if route.name in NO_TEST_ACTION else set()
    )
    # GET: every name at once, then each name the view read, alone (another bad one would
    # stop the view before it reached this one).
    with _reading(walk.monkeypatch) as reads:
        walk.check(client, "get", path, dict.fromkeys(QUERY_NAMES, "1"))
    for value in values:
        walk.check(client, "get", path, dict.fromkeys(QUERY_NAMES, _at_once(value)))
        for name in sorted(reads.names) if alone else ():
            walk.check(client, "get", path, {name: value})
    # POST: the same, in each branch of the views that branch on a field.
    for branch in _branches(route, walk.ctx):
        with _reading(walk.monkeypatch) as reads:
            walk.check(client, "post", path, dict.fromkeys(fields, "1") | branch)
        read = sorted(reads.names - set(branch) - {"csrfmiddlewaretoken"}) if alone else []
        for value in values:
            walk.check(client, "post", path, dict.fromkeys(fields, _at_once(value)) | branch)
            for name in read:
                walk.check(client, "post", path, {name: value} | branch)
    # Each parameter given twice, the second time hostile.
    walk.check(client, "get", path, {name: ["1", values[0]] for name in QUERY_NAMES})
    walk.check(client, "post", path, {name: ["1", values[0]] for name in fields})
    # A JSON body where a form is expected.
    walk.check(client, "post", path, '{"action": [1], "ids": {"a": null}}', **_JSON)
    # A raw query string that is not even UTF-8.
    walk.check(client, "get", path, QUERY_STRING="after=%ff%fe&q=%c0%af&view=%00&mailbox=%ff")


@pytest.mark.parametrize("route", _routes(), ids=_route_id)
def test_hostile_input_never_gives_a_5xx(route, cast, staff_client, monkeypatch):
    walk = Walk(monkeypatch, cast["ctx"])
    real = _real_path(route, cast["ctx"])
    clients = cast["clients"]
    if "admin" in route.namespaces:
        clients = [*clients, (staff_client, FEW)]
    if "api" in route.namespaces:
        clients = [*clients, *cast["api_clients"]]
    for client, values in clients:
        if real is not None:
            alone = client.who in ("alice", "alice-token") or (
                client.who == "requester" and route.template.startswith("p/")
            )
            _walk_one(walk, client, values, real, route, alone=alone)
        # A hostile id stops at the URL resolver: who asks matters only for signed-in or not.
        for path in (
            _hostile_paths(route) if client.who in ("alice", "anonymous", "alice-token") else ()
        ):
            walk.check(client, "get", path)
            walk.check(client, "post", path, {"action": "delete"})
    assert walk.seen > 0


# The fields the API's JSON bodies read (api/schemas.py), and values of every wrong type.
API_FIELDS = [
    "assignee", "status", "add", "remove", "body", "kind", "to", "cc", "bcc", "subject",
    "message_id", "seen", "confirm_recipients",
]  # fmt: skip
WRONG_TYPES = [None, True, 0, -1, 2**64, 1.5, [], {}, [NUL], {"a": NUL}, ["x"] * 5000, [[[]]]]


def _api_writes() -> list[Route]:
    return [r for r in walk_urls() if "api" in r.namespaces and r.name in API_WRITES]


API_WRITES = {
    "api_conversation_assign", "api_conversation_status", "api_conversation_tags",
    "api_conversation_notes", "api_conversation_replies",
}  # fmt: skip


@pytest.mark.parametrize("route", _api_writes(), ids=_route_id)
def test_hostile_json_fields_never_give_a_5xx(route, cast, monkeypatch):
    import json

    walk = Walk(monkeypatch, cast["ctx"])
    client, _values = cast["api_clients"][0]
    path = _real_path(route, cast["ctx"])
    for value in [*HOSTILE, *WRONG_TYPES]:
        body = json.dumps(dict.fromkeys(API_FIELDS, value))
        walk.check(client, "post", path, body, **_JSON)
        for name in API_FIELDS:
            walk.check(client, "post", path, json.dumps({name: value}), **_JSON)
            walk.check(client, "post", path, json.dumps({name: [value]}), **_JSON)


@pytest.fixture
def staff_client(db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return _client(staff, "staff")


# Garbage for the admin's own query parameters and filters.
ADMIN_QUERIES = [
    {"o": "999999999999999999999.-2.x"},
    {"o": BEYOND_64_BITS},
    {"p": BEYOND_64_BITS},
    {"p": "-1"},
    {"p": LONG_DIGITS, "o": LONG_DIGITS},
    {"q": NUL},
    {"q": HUGE},
    {"q": "#²"},
    {"q": "#" + BEYOND_64_BITS},
    {"q": "#" + LONG_DIGITS},
    {"e": "1", "all": "x"},
    {"_to_field": "password"},
    {"_popup": "2", "_to_field": "x"},
    {"_changelist_filters": "o=99&q=%00"},
    {"id__gt": BEYOND_64_BITS},
    {"pk": NUL},
]


def _filters(model_admin) -> list[dict]:
    queries = []
    for entry in model_admin.list_filter:
        name = entry if isinstance(entry, str) else getattr(entry, "parameter_name", None)
        if isinstance(entry, tuple):
            name = entry[0]
        if not name:
            continue
        for suffix in ("", "__exact", "__gte", "__lt", "__isnull", "__id__exact", "__in"):
            for value in (BEYOND_64_BITS, "2026-13-45", NUL, "x"):
                queries.append({name + suffix: value})
    if model_admin.date_hierarchy:
        field = model_admin.date_hierarchy
        queries.append({f"{field}__year": BEYOND_64_BITS, f"{field}__month": "13"})
        queries.append({f"{field}__day": "45", f"{field}__month": "02"})
    return queries


@pytest.mark.parametrize("model", _admin_models())
def test_admin_never_gives_a_5xx(model, cast, staff_client, monkeypatch):
    app_label, model_name = model.split("/")
    model_admin = next(
        a for m, a in admin.site._registry.items() if m._meta.label_lower.replace(".", "/") == model
    )
    walk = Walk(monkeypatch, cast["ctx"])
    changelist = reverse(f"admin:{app_label}_{model_name}_changelist")
    for query in ADMIN_QUERIES + _filters(model_admin):
        walk.check(staff_client, "get", changelist, query)
    walk.check(staff_client, "post", changelist, {"action": NUL, "_selected_action": NUL})
    walk.check(
        staff_client,
        "post",
        changelist,
        {"action": "delete_selected", "_selected_action": [BEYOND_64_BITS, "x", NUL]},
    )
    instance = model_admin.model._default_manager.order_by("pk").first()
    ids = [BEYOND_64_BITS, JUST_ABOVE_BIGINT, "-1", "0", quote(NUL), "z" * 3000]
    if instance is not None:
        ids.append(quote(str(instance.pk)))
    for object_id in ids:
        for view in ("change", "history", "delete"):
            path = reverse(f"admin:{app_label}_{model_name}_{view}", args=["0"])
            path = path.replace("/0/", f"/{object_id}/")
            walk.check(staff_client, "get", path)
        walk.check(staff_client, "post", path.replace("/delete/", "/change/"), {"x": NUL})
    add = reverse(f"admin:{app_label}_{model_name}_add")
    page = walk.check(staff_client, "get", add)
    fields = _form_names(page.content.decode(errors="replace")) | FORM_NAMES
    for value in FEW:
        walk.check(staff_client, "post", add, dict.fromkeys(fields, value))
    # Nobody else gets in, whatever they send.
    for client, _values in cast["clients"]:
        walk.check(client, "get", changelist, {"q": NUL, "o": BEYOND_64_BITS})


# --- The crashes the walk found, each reproduced on its own -------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1", 1),
        (" 42 ", 42),
        (str(MAX_ID), MAX_ID),
        (JUST_ABOVE_BIGINT, None),
        (BEYOND_64_BITS, None),
        (LONG_DIGITS, None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        ("²", None),
        ("١٢", None),  # Arabic-Indic digits: int() reads them, an id is ASCII
        ("1e3", None),
        ("", None),
        (None, None),
        (["1"], None),
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected


def test_parse_moment():
    naive = parse_moment("2026-03-02T09:00")
    assert (naive.tzinfo, naive.hour) == (UTC, 8)  # 9:00 in Paris
    assert parse_moment("2026-03-02T09:00+02:00").hour == 7
    for value in ("2026-13-45T10:00", "9999-12-31T23:59:59-14:00", "x" * 100, "", None, 3):
        assert parse_moment(value) is None, value


def test_a_list_cursor_that_overflows_is_a_400(alice_client, cast):
    # Was an OverflowError (microseconds * 999999999999999999999): a 500.
    for cursor in ("999999999999999999999_1", "1_" + BEYOND_64_BITS, "1_²", "x_1", "1", "_"):
        response = alice_client.get(reverse("inbox"), {"after": cursor})
        assert response.status_code == 400, cursor
    # A cursor the page wrote still pages.
    assert alice_client.get(reverse("inbox"), {"after": "1_1"}).status_code == 200


def test_a_snooze_date_that_is_not_a_date_is_refused_in_words(alice_client, cast):
    # Was a ValueError from parse_datetime ("month must be in 1..12"): a 500.
    conversation = cast["ctx"]["conversation"]
    url = reverse("conversation_triage", args=[conversation.pk])
    for until in ("2026-13-45T10:00", "9999-12-31T23:59:59-14:00", "2026-02-30T25:61"):
        response = alice_client.post(url, {"action": "snooze", "until": until}, follow=True)
        assert response.status_code == 200, until
        assert _said(response, "Choose when it should come back."), until
    conversation.refresh_from_db()
    assert conversation.snoozed_until is None


def _said(response, english: str) -> bool:
    from django.contrib.messages import get_messages

    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        return translation.gettext(english) in shown


def test_ids_beyond_64_bits_are_404_before_any_view(alice_client, cast):
    conversation = cast["ctx"]["conversation"]
    for value in (BEYOND_64_BITS, JUST_ABOVE_BIGINT, "0"):
        path = reverse("conversation", args=[conversation.pk]).replace(
            f"/{conversation.pk}/", f"/{value}/"
        )
        assert alice_client.get(path).status_code == 404, value
    # The largest id a bigint holds still reaches the view (and finds nothing).
    assert alice_client.get(reverse("conversation", args=[2**63 - 1])).status_code == 404


def test_every_id_in_our_urls_is_bounded_to_64_bits():
    # `<int:...>` lets any number of digits through to the database: ours use `<id:...>`.
    ours = [
        r
        for r in walk_urls()
        if "admin" not in r.namespaces
        and not any(m.startswith(("allauth.", "django.")) for m in r.modules)
    ]
    unbounded = [r.template for r in ours if "int" in r.params.values()]
    assert unbounded == []


def test_ids_typed_in_forms_are_read_as_ids(alice_client, cast):
    conversation = cast["ctx"]["conversation"]
    url = reverse("conversation_triage", args=[conversation.pk])
    for into in ("#²", "#" + BEYOND_64_BITS, LONG_DIGITS):
        response = alice_client.post(url, {"action": "merge", "into": into}, follow=True)
        assert response.status_code == 200
        assert _said(response, "Give the number of a conversation, like #1234.")
    for assignee in ("²", BEYOND_64_BITS):
        response = alice_client.post(url, {"action": "assign", "assignee": assignee}, follow=True)
        assert _said(response, "Unknown teammate.")
    for path, params in (
        (reverse("inbox_counts"), {"mailbox": "²"}),
        (reverse("inbox"), {"tag": BEYOND_64_BITS}),
    ):
        assert alice_client.get(path, params).status_code == 404
    assert alice_client.get(reverse("notifications"), {"before": "²"}).status_code == 200


def test_nul_bytes_are_a_400_wherever_they_are(alice_client, cast):
    conversation = cast["ctx"]["conversation"]
    triage = reverse("conversation_triage", args=[conversation.pk])
    assert alice_client.post(triage, {"action": "note", "body": NUL}).status_code == 400
    assert alice_client.get(reverse("inbox"), {"q": NUL}).status_code == 400
    assert alice_client.get(reverse("inbox"), {NUL: "1"}).status_code == 400
    assert alice_client.get("/invitations/a%00b/").status_code == 400
    assert not conversation.notes.exists()


def test_a_redirect_target_is_a_path_never_a_view_name(alice_client, cast):
    # `next=1` was handed to redirect(), which took it for a view name: NoReverseMatch, a 500.
    response = alice_client.post(reverse("language_set"), {"language": "en", "next": "1"})
    assert (response.status_code, response["Location"]) == (302, "1")
    conversation = cast["ctx"]["conversation"]
    response = alice_client.post(
        reverse("conversations_bulk"),
        {"ids": [conversation.pk], "action": "wake", "next": "inbox"},
    )
    assert response.status_code == 302


def test_an_unconfigured_sign_in_provider_is_a_404(client, db):
    # No Google or Microsoft keys: allauth raised SocialApp.DoesNotExist, a 500.
    for name in ("google_login", "microsoft_login", "google_callback", "microsoft_callback"):
        assert client.get(reverse(name)).status_code == 404, name


def test_a_missing_export_file_is_a_404(alice_client, cast):
    # A "ready" export whose file is gone (purged, lost): ObjectNotFound was a 500.
    export_id = OBJECTS["privacy_export_download"](cast["ctx"])
    response = alice_client.get(reverse("privacy_export_download", args=[export_id]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"_selected_action": "x"},
        {"_selected_action": BEYOND_64_BITS},
    ],
)
def test_admin_actions_on_rows_that_are_not_ids_are_a_400(staff_client, cast, query):
    url = reverse("admin:inbox_mailbox_changelist")
    response = staff_client.post(url, {"action": "delete_selected", **query})
    assert response.status_code == 400
    assert cast["ctx"]["mailbox"].__class__.objects.exists()


def test_admin_filters_beyond_any_date_or_id_are_a_400(staff_client, cast):
    # Django's date drill-down turned the year into a datetime: OverflowError, a 500.
    response = staff_client.get("/admin/accounts/user/", {"date_joined__year": BEYOND_64_BITS})
    assert response.status_code == 400
    for app_model in _admin_models():
        url = f"/admin/{app_model}/"
        response = staff_client.get(url, {"workspace__id__exact": BEYOND_64_BITS})
        assert response.status_code == 400, url


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"\x00" * 10, "application/json"),
        (b"[" * 100_000, "application/json"),  # nested past any recursion limit
        (b'{"id": "evt_1", "type": "invoice.paid"}' + b" " * 3_000_000, "application/json"),
        ("id=evt_1&type=invoice.paid", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\xfd", "text/plain"),
    ],
)
def test_a_hostile_stripe_webhook_body_is_a_400(stripe_fake, client, db, body, content_type):  # noqa: F811
    from billing.models import StripeEvent

    for signature in ("t=1,v1=" + "0" * 64, "t=" + LONG_DIGITS + ",v1=x", NUL, "x" * 10_000):
        response = client.post(
            reverse("stripe_webhook"),
            data=body,
            content_type=content_type,
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert response.status_code == 400, signature[:40]
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "q",
    [
        "after:9999-12-31 before:0001-01-01",
        "after:0001-01-01",
        "before:9999-12-31",
        "after:2026-13-45 before:99999-01-01",
        "assignee:" + "x" * 5000,
        "mailbox:" + "@" * 3000,
        "tag:" + BEYOND_64_BITS,
        'is:open is:snoozed has:pj "unbalanced',
        "from:%_% subject:\\\\",
        " ".join(f"mot{i}" for i in range(2000)),
    ],
)
def test_search_operators_with_hostile_values(alice_client, cast, q):
    response = alice_client.get(reverse("inbox"), {"q": q})
    assert response.status_code == 200
    response = alice_client.get(reverse("inbox"), {"q": q, "after": "1_1"})
    assert response.status_code == 200
