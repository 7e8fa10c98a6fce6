"""A stateful local fake of the Microsoft endpoints Trupeo uses: the identity platform
(OpenID configuration, authorize, token with authorization_code and refresh_token) and
Microsoft Graph (/me, per-folder message delta, a folder's messages filtered by
internetMessageId, /messages/{id}/$value, /me/sendMail).

Faithful where the code depends on it: PKCE (S256) checked, refresh tokens rotated (the old
one stops working) and revocable (`invalid_grant`), access tokens that expire (401); delta
pages with `@odata.nextLink` / `@odata.deltaLink`, items replayed across pages, `@removed`
entries, 410 `SyncStateNotFound` once the sync state is lost, immutable ids only when asked
for (`Prefer: IdType="ImmutableId"`, else other ids); the throttling limits — 10,000 requests
per mailbox over 10 minutes and 4 at once — answered with 429 and `Retry-After`.

Change notifications: POST/PATCH/DELETE /subscriptions on a mailbox's Inbox messages, with
Graph's rules (`expirationDateTime` in the future and within 4,230 minutes, `clientState` at
most 128 characters, HTTPS notification URLs unless `allow_http`), the validation handshake
made against the app's live server before the subscription exists (`?validationToken=` posted,
echoed as text/plain within 10 seconds), a notification posted for each message created in the
Inbox while the subscription lives, and lifecycle notifications on demand.
"""

from __future__ import annotations

import base64
import email
import hashlib
import itertools
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest
import requests

from tests.parts.http_fake import FakeServer, Request, Response, SlidingWindow, certificate_files

TENANT = "common"
MAX_MINUTES = 4230  # the longest subscription Graph grants on Outlook messages
INBOX_RESOURCE = re.compile(r"/?(me|users/[^/]+)/mailfolders\('inbox'\)/messages", re.I)


@dataclass
class Subscription:
    id: str
    address: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_url: str
    client_state: str
    expiration: datetime


FOLDERS = ("inbox", "sentitems")


@dataclass
class GraphMessage:
    number: int
    folder: str
    raw: bytes
    internet_message_id: str
    conversation_id: str
    received: str
    is_read: bool = False
    flagged: bool = False

    @property
    def immutable_id(self) -> str:
        return f"AAkALgImm{self.number:06d}AAA="

    @property
    def mutable_id(self) -> str:
        return f"AAMkAGMut{self.folder}{self.number:06d}="


@dataclass
class Mailbox:
    email: str
    messages: dict[int, GraphMessage] = field(default_factory=dict)
    changes: list[tuple[int, str, int]] = field(default_factory=list)  # (seq, folder, number)
    seq: int = 0
    sent: list[bytes] = field(default_factory=list)
    window: SlidingWindow = field(default_factory=lambda: SlidingWindow(10_000, 600.0))
    in_flight: int = 0
    # Numbers that left a folder: the delta reports them as @removed.
    gone: dict[int, str] = field(default_factory=dict)


def _conversation_id(parsed) -> str:
    """Graph groups a thread under one id: here, the root of its References chain."""
    chain = str(parsed.get("References", "") or parsed.get("In-Reply-To", "")).split()
    root = chain[0] if chain else str(parsed.get("Message-ID", ""))
    return f"AAQkConv{hashlib.sha256(root.encode()).hexdigest()[:12]}="


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class MicrosoftFake(FakeServer):
    name = "microsoft-fake"

    def __init__(
        self,
        *,
        client_id="trupeo-ms-client",
        client_secret="ms-secret",
        window_requests: int = 10_000,
        window_seconds: float = 600.0,
        concurrent: int = 4,
        **kw,
    ):
        super().__init__(**kw)
        self.client_id, self.client_secret = client_id, client_secret
        self.window_requests, self.window_seconds = window_requests, window_seconds
        self.concurrent = concurrent
        self.mailboxes: dict[str, Mailbox] = {}
        self.codes: dict[str, dict] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, tuple[str, float]] = {}
        self.consent_email = ""
        self.deny = False
        self.replay = False  # repeat the last item of the previous page on each next page
        self.lost_states: set[str] = set()  # delta tokens Graph "forgot" (410)
        self.throttle_next = 0  # answer this many Graph requests with 429 first
        self.retry_after = 1
        self.throttled = 0
        self.max_in_flight = 0
        self.searches: list[str] = []  # the `$filter` of each search asked
        self._numbers = itertools.count(1)
        self._tokens: dict[str, tuple[str, str, int, int, int]] = {}  # token -> state
        self.subscriptions: dict[str, Subscription] = {}
        self.allow_http = False  # the tests' live server speaks HTTP; Graph wants HTTPS
        self.validations: list[dict] = []  # every handshake: url, status, echoed
        self.deliveries: list[dict] = []  # every notification posted: body, status, seconds
        self.notify_attempts = 3
        self._posting = ThreadPoolExecutor(4, thread_name_prefix="graph-notify")
        base = f"/{TENANT}"
        self.route("GET", base + r"/v2\.0/\.well-known/openid-configuration", self.openid)
        self.route("GET", base + r"/oauth2/v2\.0/authorize", self.authorize)
        self.route("POST", base + r"/oauth2/v2\.0/token", self.token)
        self.route("GET", r"/v1\.0/me", self.me)
        self.route("GET", r"/v1\.0/me/mailFolders/(inbox|sentitems)/messages/delta", self.delta)
        self.route("GET", r"/v1\.0/me/mailFolders/(inbox|sentitems)/messages", self.messages)
        self.route("GET", r"/v1\.0/me/messages/([^/]+)/\$value", self.value)
        self.route("POST", r"/v1\.0/me/sendMail", self.send_mail)
        self.route("POST", r"/v1\.0/subscriptions", self.subscription_create)
        self.route("PATCH", r"/v1\.0/subscriptions/([^/]+)", self.subscription_update)
        self.route("DELETE", r"/v1\.0/subscriptions/([^/]+)", self.subscription_delete)

    # --- test helpers -------------------------------------------------------------------

    def mailbox(self, address: str) -> Mailbox:
        with self.lock:
            if address not in self.mailboxes:
                self.mailboxes[address] = Mailbox(
                    address, window=SlidingWindow(self.window_requests, self.window_seconds)
                )
            return self.mailboxes[address]

    def grant(self, address: str) -> str:
        self.mailbox(address)
        token = "M.C5-r-" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = address
        return token

    def _change(self, box: Mailbox, folder: str, number: int) -> None:
        box.seq += 1
        box.changes.append((box.seq, folder, number))

    def add_message(self, address: str, raw: bytes, folder: str = "inbox") -> str:
        box = self.mailbox(address)
        parsed = email.message_from_bytes(raw)
        with self.lock:
            number = next(self._numbers)
            message = GraphMessage(
                number=number,
                folder=folder,
                raw=raw,
                internet_message_id=str(parsed.get("Message-ID", "")),
                conversation_id=_conversation_id(parsed),
                received=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            box.messages[number] = message
            self._change(box, folder, number)
        if folder == "inbox":
            self._notify_created(box, message)
        return message.immutable_id

    def _by_id(self, box: Mailbox, key: str) -> GraphMessage | None:
        # Both id forms end with the message's number (see GraphMessage).
        match = re.search(r"(\d{6})(?:AAA)?=$", key)
        message = box.messages.get(int(match.group(1))) if match else None
        if message is None or key not in (message.immutable_id, message.mutable_id):
            return None
        return message

    def mark_read(self, address: str, key: str, read: bool = True) -> None:
        box = self.mailbox(address)
        with self.lock:
            message = self._by_id(box, key)
            message.is_read = read
            self._change(box, message.folder, message.number)

    def delete_message(self, address: str, key: str) -> None:
        box = self.mailbox(address)
        with self.lock:
            message = self._by_id(box, key)
            del box.messages[message.number]
            box.gone[message.number] = message.folder
            self._change(box, message.folder, message.number)

    def lose_sync_state(self) -> None:
        """Graph dropped every delta state handed out so far: the next use is a 410."""
        with self.lock:
            self.lost_states |= set(self._tokens)

    def revoke_all(self, address: str) -> None:
        for token, owner in list(self.refresh_tokens.items()):
            if owner == address:
                del self.refresh_tokens[token]
        for token, (owner, _x) in list(self.access_tokens.items()):
            if owner == address:
                del self.access_tokens[token]

    # --- change notifications ----------------------------------------------------------

    def _notify_created(self, box: Mailbox, message: GraphMessage) -> None:
        now = datetime.now(UTC)
        with self.lock:
            live = [
                sub
                for sub in self.subscriptions.values()
                if sub.address == box.email
                and sub.expiration > now
                and "created" in sub.change_type
            ]
        for sub in live:
            item = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": sub.expiration.isoformat(),
                "changeType": "created",
                "resource": f"Users/user-1/Messages/{message.immutable_id}",
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Message",
                    "@odata.id": f"Users/user-1/Messages/{message.immutable_id}",
                    "id": message.immutable_id,
                },
                "clientState": sub.client_state,
                "tenantId": "00000000-0000-0000-0000-000000000000",
            }
            self._posting.submit(self.post_notification, sub.notification_url, {"value": [item]})

    def post_notification(self, url: str, body: dict) -> int:
        """Post as Graph does; a non-2xx answer is retried (Graph keeps trying for hours)."""
        status = 0
        for attempt in range(self.notify_attempts):
            started = time.monotonic()
            try:
                status = requests.post(url, json=body, timeout=10).status_code
            except requests.RequestException:
                status = 0
            with self.lock:
                self.deliveries.append(
                    {"body": body, "status": status, "seconds": time.monotonic() - started}
                )
            if 200 <= status < 300:
                return status
            time.sleep(0.1 * 2**attempt)
        return status

    def lifecycle(self, address: str, event: str) -> list[int]:
        """Graph sends `event` (reauthorizationRequired, subscriptionRemoved, missed) for each
        subscription of the mailbox; subscriptionRemoved also ends it on Graph's side."""
        with self.lock:
            subs = [s for s in self.subscriptions.values() if s.address == address]
            if event == "subscriptionRemoved":
                for sub in subs:
                    del self.subscriptions[sub.id]
        statuses = []
        for sub in subs:
            item = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": sub.expiration.isoformat(),
                "lifecycleEvent": event,
                "resource": sub.resource,
                "clientState": sub.client_state,
                "organizationId": "00000000-0000-0000-0000-000000000000",
            }
            statuses.append(self.post_notification(sub.lifecycle_url, {"value": [item]}))
        return statuses

    def _validate(self, url: str) -> str:
        """Graph's handshake: the endpoint must echo the token, text/plain, within 10 s."""
        token = "Validation: Testing client application reachability " + secrets.token_hex(8)
        try:
            response = requests.post(
                f"{url}{'&' if '?' in url else '?'}validationToken={quote(token)}",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=10,
            )
            status, text = response.status_code, response.text
            plain = response.headers.get("Content-Type", "").startswith("text/plain")
        except requests.RequestException:
            status, text, plain = 0, "", False
        ok = status == 200 and text == token and plain
        with self.lock:
            self.validations.append({"url": url, "status": status, "echoed": ok})
        return "" if ok else f"Subscription validation request failed ({status})."

    @staticmethod
    def _bad(message: str, code: str = "InvalidRequest") -> Response:
        return Response(400, {"error": {"code": code, "message": message}})

    def _expiration(self, value: str) -> datetime | str:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "expirationDateTime is not a date."
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        if moment <= now:
            return "Subscription expiration can only be in the future."
        if moment > now + timedelta(minutes=MAX_MINUTES):
            return f"Subscription expiration can only be {MAX_MINUTES} minutes in the future."
        return moment

    def subscription_create(self, request: Request) -> Response:
        box = request.box  # type: ignore[attr-defined]
        body = request.json()
        resource = str(body.get("resource", ""))
        if not INBOX_RESOURCE.fullmatch(resource):
            return self._bad(f"Resource not faked: {resource}")
        change_type = str(body.get("changeType", ""))
        if not change_type or not set(change_type.split(",")) <= {"created", "updated", "deleted"}:
            return self._bad("changeType is invalid.")
        client_state = str(body.get("clientState", ""))
        if len(client_state) > 128:
            return self._bad("clientState must be at most 128 characters.")
        expiration = self._expiration(str(body.get("expirationDateTime", "")))
        if isinstance(expiration, str):
            return self._bad(expiration, "ExtensionError")
        urls = [str(body.get("notificationUrl", ""))]
        lifecycle = str(body.get("lifecycleNotificationUrl") or "")
        if lifecycle:
            urls.append(lifecycle)
        for url in dict.fromkeys(urls):
            if not url.startswith("https://") and not (
                self.allow_http and url.startswith("http://")
            ):
                return self._bad("The Url must be an https url.", "ValidationError")
            problem = self._validate(url)
            if problem:
                return self._bad(problem, "ValidationError")
        sub = Subscription(
            id=str(uuid.uuid4()),
            address=box.email,
            resource=resource,
            change_type=change_type,
            notification_url=urls[0],
            lifecycle_url=lifecycle,
            client_state=client_state,
            expiration=expiration,
        )
        with self.lock:
            self.subscriptions[sub.id] = sub
        return Response(201, self._subscription_body(sub))

    @staticmethod
    def _subscription_body(sub: Subscription) -> dict:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": sub.id,
            "resource": sub.resource,
            "changeType": sub.change_type,
            "notificationUrl": sub.notification_url,
            "lifecycleNotificationUrl": sub.lifecycle_url or None,
            "expirationDateTime": sub.expiration.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "clientState": None,  # Graph never sends the secret back
        }

    def _own(self, request: Request, sub_id: str) -> Subscription | None:
        box = request.box  # type: ignore[attr-defined]
        sub = self.subscriptions.get(sub_id)
        return sub if sub is not None and sub.address == box.email else None

    def subscription_update(self, request: Request, sub_id: str) -> Response:
        sub = self._own(request, sub_id)
        if sub is None:
            return Response(404, {"error": {"code": "ResourceNotFound", "message": "Not found"}})
        expiration = self._expiration(str(request.json().get("expirationDateTime", "")))
        if isinstance(expiration, str):
            return self._bad(expiration, "ExtensionError")
        with self.lock:
            sub.expiration = expiration
        return Response(200, self._subscription_body(sub))

    def subscription_delete(self, request: Request, sub_id: str) -> Response:
        sub = self._own(request, sub_id)
        if sub is None:
            return Response(404, {"error": {"code": "ResourceNotFound", "message": "Not found"}})
        with self.lock:
            del self.subscriptions[sub_id]
        return Response(204, b"")

    # --- identity platform ---------------------------------------------------------------

    def openid(self, request: Request) -> Response:
        base = f"{self.url}/{TENANT}"
        return Response(
            200,
            {
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "issuer": f"{base}/v2.0",
                "response_types_supported": ["code"],
            },
        )

    def authorize(self, request: Request) -> Response:
        if request.arg("client_id") != self.client_id:
            return Response(400, "AADSTS700016: application not found")
        if request.arg("code_challenge_method") != "S256" or not request.arg("code_challenge"):
            return Response(400, "AADSTS9002325: PKCE required")
        redirect_uri, state = request.arg("redirect_uri"), request.arg("state")
        if self.deny:
            query = urlencode(
                {"error": "access_denied", "error_description": "declined", "state": state}
            )
            return Response(302, b"", {"Location": f"{redirect_uri}?{query}"})
        code = "M.code-" + secrets.token_urlsafe(16)
        self.codes[code] = {
            "email": self.consent_email,
            "redirect_uri": redirect_uri,
            "challenge": request.arg("code_challenge"),
            "scope": request.arg("scope"),
        }
        query = urlencode({"code": code, "state": state, "session_state": "s1"})
        return Response(302, b"", {"Location": f"{redirect_uri}?{query}"})

    def _tokens_for(self, address: str, scope: str) -> dict:
        access = "eyJ0-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = (address, time.time() + 3600)
        body = {
            "token_type": "Bearer",
            "scope": "https://graph.microsoft.com/Mail.ReadWrite "
            "https://graph.microsoft.com/Mail.Send",
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": access,
        }
        if "offline_access" in scope:
            body["refresh_token"] = self.grant(address)
        return body

    def token(self, request: Request) -> Response:
        form = request.form()
        if request.client_credentials() != (self.client_id, self.client_secret):
            return Response(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            pending = self.codes.pop(form.get("code", ""), None)
            if pending is None or pending["redirect_uri"] != form.get("redirect_uri"):
                return Response(400, {"error": "invalid_grant", "error_description": "AADSTS70000"})
            verifier = form.get("code_verifier", "")
            if _b64url(hashlib.sha256(verifier.encode()).digest()) != pending["challenge"]:
                return Response(
                    400, {"error": "invalid_grant", "error_description": "AADSTS501481"}
                )
            return Response(200, self._tokens_for(pending["email"], form.get("scope", "")))
        if grant == "refresh_token":
            # Rotation: the refresh token used is spent, a new one comes back.
            address = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if address is None:
                return Response(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "AADSTS50173: The provided grant has expired.",
                    },
                )
            return Response(200, self._tokens_for(address, "offline_access"))
        return Response(400, {"error": "unsupported_grant_type"})

    # --- Graph ------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        if not request.path.startswith("/v1.0/"):
            return super().dispatch(request)
        found = self.access_tokens.get(request.bearer)
        if found is None or found[1] < time.time():
            return Response(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token has expired or is not yet valid.",
                    }
                },
            )
        box = self.mailbox(found[0])
        with self.lock:
            throttled = self.throttle_next > 0 or box.in_flight >= self.concurrent
            if self.throttle_next > 0:
                self.throttle_next -= 1
            if not throttled and not box.window.spend(1):
                throttled = True
            if throttled:
                self.throttled += 1
            else:
                box.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, box.in_flight)
        if throttled:
            return Response(
                429,
                {
                    "error": {
                        "code": "TooManyRequests",
                        "message": "Application is over its MailboxConcurrency limit.",
                    }
                },
                {"Retry-After": str(self.retry_after)},
            )
        try:
            request.box = box  # type: ignore[attr-defined]
            return super().dispatch(request)
        finally:
            with self.lock:
                box.in_flight -= 1

    def me(self, request: Request) -> Response:
        box = request.box  # type: ignore[attr-defined]
        return Response(
            200,
            {
                "id": "user-1",
                "mail": box.email,
                "userPrincipalName": box.email,
                "displayName": "Shared",
            },
        )

    def _item(self, message: GraphMessage, immutable: bool) -> dict:
        return {
            "@odata.type": "#microsoft.graph.message",
            "id": message.immutable_id if immutable else message.mutable_id,
            "internetMessageId": message.internet_message_id,
            "conversationId": message.conversation_id,
            "receivedDateTime": message.received,
            "isRead": message.is_read,
            "flag": {"flagStatus": "flagged" if message.flagged else "notFlagged"},
        }

    def _removed(self, number: int, folder: str, immutable: bool) -> dict:
        key = f"AAkALgImm{number:06d}AAA=" if immutable else f"AAMkAGMut{folder}{number:06d}="
        return {"id": key, "@removed": {"reason": "deleted"}}

    def delta(self, request: Request, folder: str) -> Response:
        box = request.box  # type: ignore[attr-defined]
        prefer = request.headers.get("prefer", "")
        immutable = 'IdType="ImmutableId"' in prefer
        size = 10
        for part in prefer.split(","):
            if part.strip().startswith("odata.maxpagesize="):
                size = int(part.strip().split("=", 1)[1])
        token = request.arg("$skiptoken") or request.arg("$deltatoken")
        with self.lock:
            if token:
                if token in self.lost_states or token not in self._tokens:
                    return Response(
                        410,
                        {
                            "error": {
                                "code": "SyncStateNotFound",
                                "message": "The sync state generation is not found.",
                            }
                        },
                    )
                _kind, token_folder, since, upto, offset = self._tokens[token]
                if token_folder != folder:
                    return Response(400, {"error": {"code": "ErrorInvalidUrl"}})
                if _kind == "delta":
                    since, upto, offset = upto, box.seq, 0
            else:
                since, upto, offset = 0, box.seq, 0
            # What changed in (since, upto], newest state of each message, in change order.
            numbers: dict[int, None] = {}
            for seq, change_folder, number in box.changes:
                if since < seq <= upto and change_folder == folder:
                    numbers.pop(number, None)
                    numbers[number] = None
            items = []
            for number in numbers:
                message = box.messages.get(number)
                if message is not None and message.folder == folder:
                    items.append(self._item(message, immutable))
                elif since:  # a first sync does not list what is already gone
                    items.append(self._removed(number, folder, immutable))
            page = items[offset : offset + size]
            if self.replay and offset:
                page = [items[offset - 1], *page]  # Graph may send an item again
            body: dict = {"value": page}
            link = f"{self.url}/v1.0/me/mailFolders/{folder}/messages/delta"
            if offset + size < len(items):
                skip = secrets.token_urlsafe(12)
                self._tokens[skip] = ("skip", folder, since, upto, offset + size)
                body["@odata.nextLink"] = f"{link}?$skiptoken={skip}"
            else:
                delta = secrets.token_urlsafe(12)
                self._tokens[delta] = ("delta", folder, since, upto, 0)
                body["@odata.deltaLink"] = f"{link}?$deltatoken={delta}"
        return Response(200, body)

    def messages(self, request: Request, folder: str) -> Response:
        """A folder's messages filtered by Message-ID: the only `$filter` Trupeo sends
        (`internetMessageId eq '<...>'`, a string literal with '' for a quote)."""
        box = request.box  # type: ignore[attr-defined]
        match = re.fullmatch(r"internetMessageId eq '((?:[^']|'')*)'", request.arg("$filter"))
        if match is None:
            return Response(
                400,
                {
                    "error": {
                        "code": "ErrorInvalidUrlQueryFilter",
                        "message": "The query filter contains one or more invalid nodes.",
                    }
                },
            )
        wanted = match.group(1).replace("''", "'")
        self.searches.append(request.arg("$filter"))
        immutable = 'IdType="ImmutableId"' in request.headers.get("prefer", "")
        with self.lock:
            found = [
                self._item(m, immutable)
                for m in sorted(box.messages.values(), key=lambda m: m.number)
                if m.folder == folder and m.internet_message_id == wanted
            ]
        select = [f for f in request.arg("$select").split(",") if f]
        if select:
            kept = {*select, "id", "@odata.type"}  # Graph always returns the id
            found = [{k: v for k, v in i.items() if k in kept} for i in found]
        return Response(200, {"value": found})

    def value(self, request: Request, key: str) -> Response:
        box = request.box  # type: ignore[attr-defined]
        with self.lock:
            message = self._by_id(box, key)
        if message is None:
            return Response(
                404,
                {
                    "error": {
                        "code": "ErrorItemNotFound",
                        "message": "The specified object was not found in the store.",
                    }
                },
            )
        return Response(200, message.raw, {"Content-Type": "message/rfc822"})

    def send_mail(self, request: Request) -> Response:
        box = request.box  # type: ignore[attr-defined]
        if not request.headers.get("content-type", "").startswith("text/plain"):
            return Response(400, {"error": {"code": "ErrorMimeContentInvalid"}})
        try:
            raw = base64.b64decode(request.body, validate=True)
        except ValueError:
            return Response(400, {"error": {"code": "ErrorMimeContentInvalidBase64String"}})
        box.sent.append(raw)
        self.add_message(box.email, raw, folder="sentitems")
        return Response(202, b"")


@pytest.fixture
def microsoft_fake(settings, monkeypatch) -> Iterator[MicrosoftFake]:
    """The fake, started, with Trupeo's Microsoft settings pointing at it."""
    fake = MicrosoftFake().start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate_files()[0])
    settings.MICROSOFT_CLIENT_ID = fake.client_id
    settings.MICROSOFT_CLIENT_SECRET = fake.client_secret
    settings.MICROSOFT_TENANT = TENANT
    settings.MICROSOFT_LOGIN_BASE_URL = fake.url
    settings.MICROSOFT_GRAPH_BASE_URL = fake.url
    try:
        yield fake
    finally:
        fake.stop()
