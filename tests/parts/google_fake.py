"""A stateful local fake of the Google endpoints Trupeo uses: OAuth (authorize, token with
authorization_code and refresh_token, revoke) and the Gmail API (users.getProfile,
messages.list with page tokens or `q=rfc822msgid:`, messages.get format=raw, history.list,
messages.send), and Gmail push: `users.watch` / `users.stop`, and the Pub/Sub push
subscription posting each change of a watched mailbox to the app with an OIDC token (a JWT
signed by a key the fake owns, its certificates served at `/oauth2/v1/certs` as Google does).

Faithful where the code depends on it: PKCE (S256) and redirect URI checked, refresh tokens
that can be revoked (`invalid_grant`), access tokens that expire (401), history ids that
advance with every change and expire (404 below `history_floor`), pages that stay stable
while mail arrives, and the per-user quota — 250 units over a moving second,
`messages.get` = 5 — answered with 429 rateLimitExceeded beyond it.

The authorize page approves at once and redirects back with code and state (or
`error=access_denied` when `deny` is set), so a browser test runs the whole flow.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import itertools
import json
import re
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
import requests
from google.auth import crypt
from google.auth import jwt as google_jwt

from tests.parts.http_fake import (
    FakeServer,
    Request,
    Response,
    SlidingWindow,
    certificate_files,
    rsa_signing_key,
)

UNITS = {"profile": 1, "list": 5, "get": 5, "history": 2, "send": 100, "watch": 100}
WATCH_DAYS = 7
TOPIC = re.compile(r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][\w.~+%-]{2,254}")
SCOPES = "https://www.googleapis.com/auth/gmail.modify https://www.googleapis.com/auth/gmail.send"


@dataclass
class GmailMessage:
    id: str
    thread_id: str
    raw: bytes
    labels: set[str]
    internal_ms: int


@dataclass
class Account:
    email: str
    messages: dict[str, GmailMessage] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)  # records, ascending ids
    history_id: int = 1000
    history_floor: int = 0  # startHistoryId below this: 404
    sent: list[dict] = field(default_factory=list)  # what messages.send received
    quota: SlidingWindow = field(default_factory=lambda: SlidingWindow(250, 1.0))
    watch: dict | None = None  # {"topic", "labels", "expiration" (epoch ms)}


def _message_id(raw: bytes) -> str:
    return str(email.parser.BytesHeaderParser().parsebytes(raw).get("Message-ID", "") or "")


def _bare_message_id(value: str) -> str:
    return value.strip().strip("<>").strip().lower()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class GoogleFake(FakeServer):
    name = "google-fake"

    def __init__(self, *, client_id="trupeo-google-client", client_secret="g-secret", **kw):
        super().__init__(**kw)
        self.client_id, self.client_secret = client_id, client_secret
        self.accounts: dict[str, Account] = {}
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, str] = {}  # token -> email
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (email, expiry)
        self.revoked: list[str] = []
        self.searches: list[str] = []  # the `q` of each search asked
        self.consent_email = ""  # who "signs in" on the authorize page
        self.deny = False
        self.granted_scope = SCOPES
        self.enforce_quota = True
        # Gmail answers an exhausted quota with 429, or 403 userRateLimitExceeded.
        self.rate_status = 429
        self._ids = itertools.count(0x18C0000000000000)
        # Pub/Sub: the topic Gmail may publish to, and its push subscription to the app.
        self.topic = "projects/trupeo-tests/topics/gmail"
        self.push_endpoint = ""  # the app's /hooks/gmail/ (empty: nothing is pushed)
        self.push_audience = ""
        self.service_account = "gmail-push@trupeo-tests.iam.gserviceaccount.com"
        self.deliveries: list[dict] = []  # every push attempt: body, status, seconds
        self.push_attempts = 3  # Pub/Sub retries a non-2xx answer (with backoff)
        self.key_id, self.private_pem, self.certificate_pem = rsa_signing_key("accounts.google")
        self._pushing = ThreadPoolExecutor(4, thread_name_prefix="pubsub-push")
        self.route("GET", r"/o/oauth2/v2/auth", self.authorize)
        self.route("POST", r"/token", self.token)
        self.route("POST", r"/revoke", self.revoke)
        user = r"/gmail/v1/users/me"
        self.route("GET", user + r"/profile", self.profile)
        self.route("GET", user + r"/messages", self.messages_list)
        self.route("GET", user + r"/messages/([0-9a-f]+)", self.messages_get)
        self.route("GET", user + r"/history", self.history_list)
        self.route("POST", user + r"/messages/send", self.messages_send)
        self.route("POST", user + r"/watch", self.watch)
        self.route("POST", user + r"/stop", self.stop_watch)
        self.route("GET", r"/oauth2/v1/certs", self.certs)

    # --- test helpers -------------------------------------------------------------------

    def account(self, email: str) -> Account:
        return self.accounts.setdefault(email, Account(email))

    def grant(self, email: str) -> str:
        """A refresh token for `email`, as an earlier consent would have given."""
        self.account(email)
        token = "1//r-" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = email
        return token

    def _record(self, account: Account, **record) -> None:
        account.history_id += 1
        account.history.append({"id": str(account.history_id), **record})
        self._publish(account, record)

    # --- Pub/Sub push ----------------------------------------------------------------------

    def _publish(self, account: Account, record: dict) -> None:
        """Gmail publishes a change touching a watched label; Pub/Sub pushes it."""
        watch = account.watch
        if watch is None or watch["expiration"] < time.time() * 1000 or not self.push_endpoint:
            return
        touched = set()
        for changes in record.values():
            for change in changes:
                touched |= set(change["message"]["labelIds"]) | set(change.get("labelIds", []))
        if not touched & set(watch["labels"]):
            return
        data = {"emailAddress": account.email, "historyId": account.history_id}
        body = {
            "message": {
                "data": base64.b64encode(json.dumps(data).encode()).decode(),
                "messageId": str(next(self._ids)),
                "publishTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            "subscription": "projects/trupeo-tests/subscriptions/gmail-push",
        }
        self._pushing.submit(self.push, body)

    def signed_token(
        self,
        *,
        audience: str | None = None,
        email: str | None = None,
        lifetime: int = 3600,
        issued: float | None = None,
        private_pem: bytes | None = None,
        key_id: str | None = None,
        verified: bool = True,
        issuer: str = "https://accounts.google.com",
    ) -> str:
        """An OIDC token as Pub/Sub signs it (or, for attacker tests, a bent one)."""
        now = int(issued if issued is not None else time.time())
        claims = {
            "iss": issuer,
            "aud": self.push_audience if audience is None else audience,
            "azp": "1234567890",
            "email": self.service_account if email is None else email,
            "email_verified": verified,
            "iat": now,
            "exp": now + lifetime,
            "sub": "1234567890",
        }
        signer = crypt.RSASigner.from_string(private_pem or self.private_pem, key_id or self.key_id)
        return google_jwt.encode(signer, claims).decode()

    def push(self, body: dict, token: str | None = None) -> int:
        """Post one message to the push endpoint as Pub/Sub does; retried on non-2xx."""
        status = 0
        for attempt in range(self.push_attempts):
            started = time.monotonic()
            try:
                response = requests.post(
                    self.push_endpoint,
                    json=body,
                    headers={"Authorization": f"Bearer {token or self.signed_token()}"},
                    timeout=10,
                )
                status = response.status_code
            except requests.RequestException:
                status = 0
            with self.lock:
                self.deliveries.append(
                    {"body": body, "status": status, "seconds": time.monotonic() - started}
                )
            if 200 <= status < 300 or token is not None:
                return status
            time.sleep(0.1 * 2**attempt)
        return status

    def add_message(
        self, email: str, raw: bytes, labels=("INBOX", "UNREAD"), thread_id: str = ""
    ) -> str:
        account = self.account(email)
        with self.lock:
            mid = format(next(self._ids), "x")
            message = GmailMessage(mid, thread_id or mid, raw, set(labels), int(time.time() * 1000))
            account.messages[mid] = message
            self._record(account, messagesAdded=[{"message": self._ref(message)}])
        return mid

    def change_labels(self, email: str, mid: str, add=(), remove=()) -> None:
        account = self.account(email)
        with self.lock:
            message = account.messages[mid]
            message.labels |= set(add)
            message.labels -= set(remove)
            if add:
                self._record(
                    account,
                    labelsAdded=[{"message": self._ref(message), "labelIds": list(add)}],
                )
            if remove:
                self._record(
                    account,
                    labelsRemoved=[{"message": self._ref(message), "labelIds": list(remove)}],
                )

    def delete_message(self, email: str, mid: str) -> None:
        account = self.account(email)
        with self.lock:
            message = account.messages.pop(mid)
            self._record(account, messagesDeleted=[{"message": self._ref(message)}])

    def expire_history(self, email: str) -> None:
        """Every historyId handed out so far is too old now (Gmail keeps about a week)."""
        account = self.account(email)
        with self.lock:
            account.history_id += 1  # the current id, which getProfile hands out, stays valid
            account.history_floor = account.history_id

    def revoke_all(self, email: str) -> None:
        """The user removed Trupeo's access (or changed their password)."""
        for token, owner in list(self.refresh_tokens.items()):
            if owner == email:
                del self.refresh_tokens[token]
        for token, (owner, _exp) in list(self.access_tokens.items()):
            if owner == email:
                del self.access_tokens[token]

    def expire_access_tokens(self) -> None:
        self.access_tokens = {t: (e, 0.0) for t, (e, _x) in self.access_tokens.items()}

    @staticmethod
    def _ref(message: GmailMessage) -> dict:
        return {"id": message.id, "threadId": message.thread_id, "labelIds": sorted(message.labels)}

    # --- OAuth -------------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        if request.arg("client_id") != self.client_id:
            return Response(400, "Error 401: invalid_client")
        if request.arg("response_type") != "code" or request.arg("code_challenge_method") != "S256":
            return Response(400, "Error 400: invalid_request (code and S256 PKCE required)")
        redirect_uri, state = request.arg("redirect_uri"), request.arg("state")
        if self.deny:
            query = urlencode({"error": "access_denied", "state": state})
            return Response(302, b"", {"Location": f"{redirect_uri}?{query}"})
        code = "4/c-" + secrets.token_urlsafe(16)
        self.codes[code] = {
            "email": self.consent_email,
            "redirect_uri": redirect_uri,
            "challenge": request.arg("code_challenge"),
            "offline": request.arg("access_type") == "offline",
        }
        query = urlencode({"code": code, "state": state, "scope": self.granted_scope})
        return Response(302, b"", {"Location": f"{redirect_uri}?{query}"})

    def _access_token(self, email: str) -> dict:
        token = "ya29.a-" + secrets.token_urlsafe(24)
        self.access_tokens[token] = (email, time.time() + 3599)
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def token(self, request: Request) -> Response:
        form = request.form()
        if request.client_credentials() != (self.client_id, self.client_secret):
            return Response(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            pending = self.codes.pop(form.get("code", ""), None)
            if pending is None or pending["redirect_uri"] != form.get("redirect_uri"):
                return Response(400, {"error": "invalid_grant", "error_description": "Bad code"})
            verifier = form.get("code_verifier", "")
            if _b64url(hashlib.sha256(verifier.encode()).digest()) != pending["challenge"]:
                return Response(400, {"error": "invalid_grant", "error_description": "PKCE"})
            body = {**self._access_token(pending["email"]), "scope": self.granted_scope}
            if pending["offline"]:
                refresh = self.grant(pending["email"])
                body["refresh_token"] = refresh
            return Response(200, body)
        if grant == "refresh_token":
            email = self.refresh_tokens.get(form.get("refresh_token", ""))
            if email is None:
                return Response(
                    400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
                )
            return Response(200, {**self._access_token(email), "scope": SCOPES})
        return Response(400, {"error": "unsupported_grant_type"})

    def revoke(self, request: Request) -> Response:
        token = request.form().get("token", "")
        email = self.refresh_tokens.get(token) or self.access_tokens.get(token, ("",))[0]
        if not email:
            return Response(400, {"error": "invalid_token"})
        self.revoked.append(token)
        self.revoke_all(email)
        return Response(200, b"")

    # --- Gmail ----------------------------------------------------------------------------

    def _user(self, request: Request, units: int) -> Account | Response:
        found = self.access_tokens.get(request.bearer)
        if found is None or found[1] < time.time():
            return Response(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Invalid Credentials",
                        "status": "UNAUTHENTICATED",
                    }
                },
            )
        account = self.account(found[0])
        if self.enforce_quota and not account.quota.spend(units):
            reason = "rateLimitExceeded" if self.rate_status == 429 else "userRateLimitExceeded"
            return Response(
                self.rate_status,
                {
                    "error": {
                        "code": self.rate_status,
                        "message": "User-rate limit exceeded.",
                        "errors": [{"reason": reason, "domain": "usageLimits"}],
                        "status": "RESOURCE_EXHAUSTED",
                    }
                },
            )
        return account

    def profile(self, request: Request) -> Response:
        account = self._user(request, UNITS["profile"])
        if isinstance(account, Response):
            return account
        return Response(
            200,
            {
                "emailAddress": account.email,
                "messagesTotal": len(account.messages),
                "threadsTotal": len({m.thread_id for m in account.messages.values()}),
                "historyId": str(account.history_id),
            },
        )

    def messages_list(self, request: Request) -> Response:
        account = self._user(request, UNITS["list"])
        if isinstance(account, Response):
            return account
        label = request.arg("labelIds")
        size = min(int(request.arg("maxResults", "100")), 500)
        after = request.arg("pageToken")  # the last id of the previous page: stable pages
        query = request.arg("q")
        wanted = None
        if query:
            # Only the query form Trupeo sends is faked: one `rfc822msgid:` term, which Gmail
            # matches against the Message-ID header, with or without its angle brackets.
            match = re.fullmatch(r"rfc822msgid:(\S+)", query.strip())
            if match is None:
                return Response(400, {"error": {"code": 400, "message": f"q not faked: {query}"}})
            wanted = _bare_message_id(match.group(1))
            self.searches.append(query)
        with self.lock:
            ids = sorted(
                (
                    m.id
                    for m in account.messages.values()
                    if (not label or label in m.labels)
                    and (wanted is None or _bare_message_id(_message_id(m.raw)) == wanted)
                ),
                key=lambda i: int(i, 16),
                reverse=True,  # newest first, as Gmail lists
            )
        if after:
            ids = [i for i in ids if int(i, 16) < int(after, 16)]
        page = ids[:size]
        body: dict = {
            "messages": [{"id": i, "threadId": account.messages[i].thread_id} for i in page],
            "resultSizeEstimate": len(ids),
        }
        if len(ids) > size:
            body["nextPageToken"] = page[-1]
        return Response(200, body)

    def messages_get(self, request: Request, mid: str) -> Response:
        account = self._user(request, UNITS["get"])
        if isinstance(account, Response):
            return account
        message = account.messages.get(mid)
        if message is None:
            return Response(
                404, {"error": {"code": 404, "message": "Requested entity was not found."}}
            )
        if request.arg("format") != "raw":
            return Response(400, {"error": {"code": 400, "message": "only format=raw is faked"}})
        return Response(
            200,
            {
                "id": message.id,
                "threadId": message.thread_id,
                "labelIds": sorted(message.labels),
                "internalDate": str(message.internal_ms),
                "sizeEstimate": len(message.raw),
                "historyId": str(account.history_id),
                "raw": base64.urlsafe_b64encode(message.raw).decode(),
            },
        )

    def history_list(self, request: Request) -> Response:
        account = self._user(request, UNITS["history"])
        if isinstance(account, Response):
            return account
        start = int(request.arg("startHistoryId", "0"))
        if start < account.history_floor:
            return Response(
                404, {"error": {"code": 404, "message": "Requested entity was not found."}}
            )
        size = min(int(request.arg("maxResults", "100")), 500)
        after = int(request.arg("pageToken") or start)
        kinds = set(request.query.get("historyTypes", [])) or {
            "messageAdded",
            "messageDeleted",
            "labelAdded",
            "labelRemoved",
        }
        wanted = {
            "messageAdded": "messagesAdded",
            "messageDeleted": "messagesDeleted",
            "labelAdded": "labelsAdded",
            "labelRemoved": "labelsRemoved",
        }
        with self.lock:
            records = [
                r
                for r in account.history
                if int(r["id"]) > after and any(wanted[k] in r for k in kinds)
            ]
            current = str(account.history_id)
        page = records[:size]
        body: dict = {"historyId": current}
        if page:
            body["history"] = page
        if len(records) > size:
            body["nextPageToken"] = page[-1]["id"]
        return Response(200, body)

    def watch(self, request: Request) -> Response:
        account = self._user(request, UNITS["watch"])
        if isinstance(account, Response):
            return account
        payload = request.json()
        topic = str(payload.get("topicName", ""))
        if not TOPIC.fullmatch(topic):
            return Response(
                400,
                {
                    "error": {
                        "code": 400,
                        "message": "Invalid topicName",
                        "status": "INVALID_ARGUMENT",
                    }
                },
            )
        if topic != self.topic:
            # Gmail must hold the Pub/Sub Publisher role on the topic (or it does not exist).
            return Response(
                403,
                {
                    "error": {
                        "code": 403,
                        "message": f"User not authorized to perform this action. ({topic})",
                        "status": "PERMISSION_DENIED",
                    }
                },
            )
        labels = payload.get("labelIds") or ["INBOX", "SENT", "DRAFT", "SPAM", "TRASH"]
        if payload.get("labelFilterBehavior", "include").lower() == "exclude":
            labels = ["INBOX", "SENT"]  # every label but those excluded, as far as Trupeo asks
        expiration = int((time.time() + WATCH_DAYS * 86400) * 1000)
        with self.lock:
            account.watch = {"topic": topic, "labels": labels, "expiration": expiration}
        return Response(200, {"historyId": str(account.history_id), "expiration": str(expiration)})

    def stop_watch(self, request: Request) -> Response:
        account = self._user(request, UNITS["watch"])
        if isinstance(account, Response):
            return account
        with self.lock:
            account.watch = None
        return Response(204, b"")

    def certs(self, request: Request) -> Response:
        return Response(
            200,
            {self.key_id: self.certificate_pem.decode()},
            {"Cache-Control": "public, max-age=21600"},
        )

    def messages_send(self, request: Request) -> Response:
        account = self._user(request, UNITS["send"])
        if isinstance(account, Response):
            return account
        payload = request.json()
        raw = base64.urlsafe_b64decode(payload["raw"] + "=" * (-len(payload["raw"]) % 4))
        account.sent.append({"raw": raw, "threadId": payload.get("threadId", "")})
        mid = self.add_message(
            account.email, raw, labels=("SENT",), thread_id=payload.get("threadId", "")
        )
        message = account.messages[mid]
        return Response(200, self._ref(message))


@pytest.fixture
def google_fake(settings, monkeypatch) -> Iterator[GoogleFake]:
    """The fake, started, with Trupeo's Google settings pointing at it."""
    fake = GoogleFake().start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate_files()[0])
    settings.GOOGLE_CLIENT_ID = fake.client_id
    settings.GOOGLE_CLIENT_SECRET = fake.client_secret
    settings.GOOGLE_AUTH_URL = fake.url + "/o/oauth2/v2/auth"
    settings.GOOGLE_TOKEN_URL = fake.url + "/token"
    settings.GOOGLE_REVOKE_URL = fake.url + "/revoke"
    settings.GMAIL_API_BASE_URL = fake.url
    settings.GOOGLE_CERTS_URL = fake.url + "/oauth2/v1/certs"
    try:
        yield fake
    finally:
        fake.stop()
