"""A local, stateful fake of the Stripe API endpoints Trupeo calls, and of Stripe's webhooks.

The real SDK is pointed at it (STRIPE_API_BASE): it sends its real requests (form-encoded,
Bearer key, Stripe-Version) to a real HTTP server on loopback. The fake keeps customers,
checkout and portal sessions, subscriptions and invoices in memory, answers in Stripe's JSON
shapes (API 2025+: periods on subscription items, an invoice's subscription under `parent`),
records every request so tests can assert the exact parameters sent, and serves the hosted
pages (checkout, portal) that a browser is sent to. Events are signed exactly as Stripe
signs them: header `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

API_KEY = "sk_test_trupeo_fake"
WEBHOOK_SECRET = "whsec_trupeo_fake_secret"
PRICE_MONTHLY = "price_monthly_seat"
PRICE_YEARLY = "price_yearly_seat"
SEAT_CENTS = {PRICE_MONTHLY: 900, PRICE_YEARLY: 9000}
PERIOD = {PRICE_MONTHLY: 30 * 86400, PRICE_YEARLY: 365 * 86400}
VAT_RATE = 20  # percent, French standard rate


def sign(payload: bytes | str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for `payload`, made the way Stripe makes it."""
    body = payload if isinstance(payload, bytes) else payload.encode()
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`items[0][quantity]=3`) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value if last else ([] if parts[i + 1].isdigit() else {})
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None or last:
                    node[index] = nxt
                node = node[index]
            else:
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
    return root


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]  # exactly as sent, flat: {"items[0][quantity]": "3", ...}
    headers: dict[str, str]


class StripeError(Exception):
    def __init__(self, status: int, message: str, code: str = "", param: str = ""):
        super().__init__(message)
        self.status, self.code, self.param = status, code, param


@dataclass
class StripeFake:
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    webhook_url: str = ""  # where `send_event` posts; empty: events are only built
    customers: dict[str, dict] = field(default_factory=dict)
    checkout_sessions: dict[str, dict] = field(default_factory=dict)
    portal_sessions: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    sent_events: list[tuple[dict, int | None]] = field(default_factory=list)
    _outbox: list[dict] = field(default_factory=list)
    unavailable: bool = False  # answers 500 (and tells the SDK not to retry)
    failing: set[str] = field(default_factory=set)  # API paths that answer 500
    _idempotency: dict[str, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    url: str = ""

    # --- what tests read -------------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[dict[str, str]]:
        """The flat form parameters of each request to `path` (a regex), in order."""
        return [
            r.params for r in self.requests if r.method == method and re.fullmatch(path, r.path)
        ]

    def api_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/v1/")]

    # --- state helpers -----------------------------------------------------------------------

    @staticmethod
    def _id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}"

    def _customer(self, customer_id: str) -> dict:
        if customer_id not in self.customers:
            raise StripeError(404, f"No such customer: '{customer_id}'", "resource_missing")
        return self.customers[customer_id]

    def subscription_create(
        self,
        *,
        customer: str,
        price: str = PRICE_MONTHLY,
        quantity: int = 1,
        status: str = "active",
        trial_end: int | None = None,
        metadata: dict | None = None,
    ) -> dict:
        now = int(time.time())
        start = now
        end = trial_end or now + PERIOD.get(price, 30 * 86400)
        sub_id = self._id("sub")
        subscription = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": "trialing" if trial_end else status,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "created": now,
            "trial_end": trial_end,
            "metadata": metadata or {},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": self._id("si"),
                        "object": "subscription_item",
                        "subscription": sub_id,
                        "price": {"id": price, "object": "price", "currency": "eur"},
                        "quantity": quantity,
                        "current_period_start": start,
                        "current_period_end": end,
                    }
                ],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={sub_id}",
            },
            "latest_invoice": None,
        }
        self.subscriptions[sub_id] = subscription
        return subscription

    def invoice_create(
        self, *, subscription: dict, status: str = "paid", vat_number: str = "FR40303265045"
    ) -> dict:
        """An invoice for the subscription's current quantity, with French VAT."""
        item = subscription["items"]["data"][0]
        excl = SEAT_CENTS.get(item["price"]["id"], 900) * item["quantity"]
        if subscription["status"] == "trialing":
            excl = 0
        tax = excl * VAT_RATE // 100
        now = int(time.time())
        invoice_id = self._id("in")
        customer = self.customers.get(subscription["customer"], {})
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "customer_name": customer.get("name"),
            "customer_tax_ids": [{"type": "eu_vat", "value": vat_number}] if vat_number else [],
            "number": f"TRUP-{next(self._numbers):04d}",
            "status": status,
            "currency": "eur",
            "subtotal": excl,
            "total_excluding_tax": excl,
            "total": excl + tax,
            "amount_due": excl + tax,
            "amount_paid": excl + tax if status == "paid" else 0,
            "created": now,
            "effective_at": now,
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "status_transitions": {
                "finalized_at": now,
                "paid_at": now if status == "paid" else None,
            },
            "hosted_invoice_url": f"{self.url}/invoice/{invoice_id}",
            "invoice_pdf": f"{self.url}/invoice/{invoice_id}/pdf",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"], "metadata": {}},
            },
        }
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def checkout_complete(self, session_id: str) -> dict:
        """What Stripe does when the customer pays: subscription, invoice, events."""
        session = self.checkout_sessions[session_id]
        if session["status"] == "complete":
            return self.subscriptions[session["subscription"]]
        line = session["_line_items"][0]
        data = session["_subscription_data"]
        trial_end = int(data["trial_end"]) if data.get("trial_end") else None
        subscription = self.subscription_create(
            customer=session["customer"],
            price=line["price"],
            quantity=int(line["quantity"]),
            trial_end=trial_end,
            metadata=data.get("metadata") or {},
        )
        invoice = self.invoice_create(subscription=subscription)
        session.update(status="complete", payment_status="paid", subscription=subscription["id"])
        # Sent once the request that paid is answered (`deliver_pending`), as Stripe does.
        self._outbox += [
            self.event("customer.subscription.created", subscription),
            self.event("checkout.session.completed", self._public(session)),
            self.event("invoice.paid", invoice),
        ]
        return subscription

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    # --- events ------------------------------------------------------------------------------

    def event(self, type_: str, obj: dict, *, created: int | None = None) -> dict:
        return {
            "id": self._id("evt"),
            "object": "event",
            "api_version": stripe.api_version,
            "created": int(time.time()) if created is None else created,
            "type": type_,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},  # a snapshot, as sent then
        }

    def deliver_pending(self) -> None:
        events, self._outbox = self._outbox, []
        for event in events:
            self.send_event(event)

    def send_event(self, event: dict) -> int | None:
        """Post a signed event to `webhook_url`, as Stripe would; returns the HTTP status."""
        if not self.webhook_url:
            self.sent_events.append((event, 0))
            return None
        body = json.dumps(event).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback http)
            self.webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign(body, self.webhook_secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        self.sent_events.append((event, status))
        return status

    # --- the API -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict, headers: dict) -> tuple[int, Any]:
        if path.startswith("/v1/"):
            if self.unavailable or path in self.failing:
                raise StripeError(500, "Stripe is unavailable (fake)")
            if headers.get("authorization") != f"Bearer {self.api_key}":
                raise StripeError(401, "Invalid API Key provided")
            key = headers.get("idempotency-key")
            if method == "POST" and key and key in self._idempotency:
                return 200, self._idempotency[key]
            status, body = self._api(method, path, params)
            if method == "POST" and key:
                self._idempotency[key] = body
            return status, body
        return self._pages(method, path, params)

    def _api(self, method: str, path: str, p: dict) -> tuple[int, Any]:
        if (method, path) == ("POST", "/v1/customers"):
            customer = {
                "id": self._id("cus"),
                "object": "customer",
                "name": p.get("name"),
                "email": p.get("email"),
                "preferred_locales": p.get("preferred_locales", []),
                "metadata": p.get("metadata", {}),
            }
            self.customers[customer["id"]] = customer
            return 200, customer
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            for required in ("mode", "success_url"):
                if not p.get(required):
                    raise StripeError(
                        400, f"Missing required param: {required}.", "parameter_missing", required
                    )
            if p["mode"] == "subscription" and not p.get("line_items"):
                raise StripeError(
                    400, "line_items is required in subscription mode", "parameter_missing"
                )
            if p.get("customer"):
                self._customer(p["customer"])
            session_id = self._id("cs_test")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": p["mode"],
                "customer": p.get("customer"),
                "client_reference_id": p.get("client_reference_id"),
                "metadata": p.get("metadata", {}),
                "status": "open",
                "payment_status": "unpaid",
                "subscription": None,
                "locale": p.get("locale"),
                "success_url": p["success_url"],
                "cancel_url": p.get("cancel_url"),
                "url": f"{self.url}/pay/{session_id}",
                "_line_items": p.get("line_items", []),
                "_subscription_data": p.get("subscription_data", {}),
            }
            self.checkout_sessions[session_id] = session
            return 200, self._public(session)
        if found := re.fullmatch(r"/v1/checkout/sessions/([\w]+)", path):
            if found.group(1) not in self.checkout_sessions:
                raise StripeError(404, "No such checkout.session", "resource_missing")
            return 200, self._public(self.checkout_sessions[found.group(1)])
        if (method, path) == ("POST", "/v1/billing_portal/sessions"):
            customer = self._customer(p.get("customer", ""))
            session = {
                "id": self._id("bps"),
                "object": "billing_portal.session",
                "customer": customer["id"],
                "return_url": p.get("return_url"),
                "locale": p.get("locale"),
            }
            session["url"] = f"{self.url}/portal/{session['id']}"
            self.portal_sessions[session["id"]] = session
            return 200, session
        if found := re.fullmatch(r"/v1/subscriptions/(\w+)", path):
            subscription = self.subscriptions.get(found.group(1))
            if subscription is None:
                raise StripeError(
                    404, f"No such subscription: '{found.group(1)}'", "resource_missing", "id"
                )
            if method == "GET":
                return 200, subscription
            if method == "DELETE":
                subscription.update(status="canceled", canceled_at=int(time.time()))
                return 200, subscription
            if subscription["status"] == "canceled":
                raise StripeError(400, "A canceled subscription can only update its metadata.")
            for change in p.get("items", []):
                item = next(
                    (i for i in subscription["items"]["data"] if i["id"] == change.get("id")), None
                )
                if item is None:
                    raise StripeError(400, "No such subscription item", "resource_missing", "items")
                if "quantity" in change:
                    item["quantity"] = int(change["quantity"])
            if "cancel_at_period_end" in p:
                subscription["cancel_at_period_end"] = p["cancel_at_period_end"] == "true"
            return 200, subscription
        if found := re.fullmatch(r"/v1/invoices/(\w+)", path):
            invoice = self.invoices.get(found.group(1))
            if invoice is None:
                raise StripeError(
                    404, f"No such invoice: '{found.group(1)}'", "resource_missing", "id"
                )
            return 200, invoice
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _pages(self, method: str, path: str, params: dict) -> tuple[int, Any]:
        """The hosted pages: a checkout with a Pay button, a portal with a way back."""
        if found := re.fullmatch(r"/pay/(\w+)", path):
            session = self.checkout_sessions.get(found.group(1))
            if session is None:
                return 404, "<p>No such checkout session.</p>"
            if method == "POST":
                self.checkout_complete(session["id"])
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
                return 303, target
            seats = session["_line_items"][0]["quantity"]
            return 200, (
                '<!doctype html><html lang="fr"><title>Paiement</title><h1>Trupeo (fake)</h1>'
                f"<p>{html.escape(str(seats))} siège(s)</p>"
                f'<form method="post" action="/pay/{session["id"]}"><button>Payer</button></form>'
            )
        if found := re.fullmatch(r"/portal/(\w+)", path):
            session = self.portal_sessions.get(found.group(1))
            if session is None:
                return 404, "<p>No such portal session.</p>"
            return 200, (
                '<!doctype html><html lang="fr"><title>Portail</title><h1>Portail client</h1>'
                f'<a href="{html.escape(session["return_url"])}">Retour</a>'
            )
        return 404, "<p>Not found.</p>"


class _Handler(BaseHTTPRequestHandler):
    fake: StripeFake

    def log_message(self, *args) -> None:  # quiet
        pass

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        pairs = parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(
            body, keep_blank_values=True
        )
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake = self.fake
        with fake._lock:
            fake.requests.append(Recorded(method, parts.path, dict(pairs), headers))
            try:
                status, payload = fake.handle(method, parts.path, _nest(pairs), headers)
            except StripeError as error:
                status = error.status
                payload = {
                    "error": {
                        "type": "api_error" if status >= 500 else "invalid_request_error",
                        "message": str(error),
                        **({"code": error.code} if error.code else {}),
                        **({"param": error.param} if error.param else {}),
                    }
                }
        # Events go out unlocked (the receiver calls the API back) and before the browser is
        # sent back, so the page it returns to has seen them: a deterministic order for tests.
        fake.deliver_pending()
        if status == 303:
            self.send_response(303)
            self.send_header("Location", payload)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/html; charset=utf-8"
        else:
            data, content_type = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
        if status >= 500:
            self.send_header("Stripe-Should-Retry", "false")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


@pytest.fixture
def stripe_fake(settings):
    """The fake on a loopback port, with billing switched on and pointed at it."""
    fake = StripeFake()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_SECRET_KEY = fake.api_key
    settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_PRICE_MONTHLY = PRICE_MONTHLY
    settings.STRIPE_PRICE_YEARLY = PRICE_YEARLY
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
