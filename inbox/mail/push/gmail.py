"""Gmail push: `users.watch` to a Pub/Sub topic, and the push it sends us.

Pub/Sub posts `{"message": {"data": base64(JSON {"emailAddress", "historyId"}), ...},
"subscription": ...}` with `Authorization: Bearer <OIDC token>`. The token is verified with
google-auth (Google's signature from its published certificates, the audience we configured,
not expired) and must name our push service account, verified. Only then is the body read.
A mailbox we do not know is answered 2xx (Pub/Sub would otherwise retry for a week) and
logged. A replayed notification only queues another sync, which finds nothing new.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from datetime import UTC, datetime

import requests
from django.conf import settings
from google.auth import exceptions as google_exceptions
from google.auth.transport import requests as google_requests
from google.oauth2 import id_token

from inbox.mail.providers.gmail import USER, gmail_api
from inbox.mail.push.common import PushMalformed, PushRefused, mark_notified, sync_now
from inbox.models import Mailbox, Provider, PushSubscription

logger = logging.getLogger(__name__)

ISSUERS = ("https://accounts.google.com", "accounts.google.com")
CERTS_TTL = 3600.0  # Google rotates its keys over days and publishes them ahead
# An unknown key id fetches the certificates again at most this often: forged tokens with
# random key ids must not turn every request into a call to Google.
CERTS_REFRESH_EVERY = 300.0
WATCH_UNITS = 100  # users.watch and users.stop: 100 quota units each


class _CachedCertsRequest(google_requests.Request):
    """google-auth's HTTP transport, keeping the certificates' answer for an hour: one fetch
    per hour and process rather than one per notification."""

    def __init__(self) -> None:
        super().__init__(session=requests.Session())
        self._cache: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._forgotten_at = -CERTS_REFRESH_EVERY

    def __call__(self, url, method="GET", body=None, headers=None, timeout=10, **kwargs):
        if method != "GET":
            return super().__call__(url, method, body, headers, timeout, **kwargs)
        with self._lock:
            cached = self._cache.get(url)
            if cached and cached[0] > time.monotonic():
                return cached[1]
        response = super().__call__(url, method, body, headers, timeout, **kwargs)
        if response.status == 200:
            with self._lock:
                self._cache[url] = (time.monotonic() + CERTS_TTL, response)
        return response

    def forget(self) -> bool:
        """Drop the kept certificates, unless that was done a moment ago; True if dropped."""
        with self._lock:
            if time.monotonic() - self._forgotten_at < CERTS_REFRESH_EVERY:
                return False
            self._forgotten_at = time.monotonic()
            self._cache.clear()
            return True


_transport = _CachedCertsRequest()


def _verified_claims(token: str) -> dict:
    def verify() -> dict:
        return id_token.verify_token(
            token,
            _transport,
            audience=settings.GMAIL_PUSH_AUDIENCE,
            certs_url=settings.GOOGLE_CERTS_URL,
        )

    try:
        try:
            return verify()
        except ValueError as error:
            if "key id" not in str(error).lower() and "certificate for key" not in str(error):
                raise
            if not _transport.forget():  # a key published since the certificates were kept?
                raise
            return verify()
    except (ValueError, google_exceptions.GoogleAuthError) as error:
        raise PushRefused(f"token not verified ({type(error).__name__})") from error


def verify_push_token(authorization: str) -> dict:
    """The claims of Pub/Sub's OIDC token, or PushRefused."""
    if not settings.GMAIL_PUSH_SERVICE_ACCOUNT:
        raise PushRefused("Gmail push is not configured")
    scheme, _sep, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PushRefused("no bearer token")
    claims = _verified_claims(token.strip())
    if claims.get("iss") not in ISSUERS:
        raise PushRefused("token from another issuer")
    if claims.get("email") != settings.GMAIL_PUSH_SERVICE_ACCOUNT or claims.get(
        "email_verified"
    ) not in (True, "true"):
        raise PushRefused("token for another service account")
    return claims


def _notification(body: bytes) -> tuple[str, int]:
    """(emailAddress, historyId) from a Pub/Sub push body; PushRefused when malformed."""
    try:
        envelope = json.loads(body)
        data = base64.b64decode(envelope["message"]["data"], validate=False)
        payload = json.loads(data)
        address = str(payload["emailAddress"]).strip().lower()
        history_id = int(payload["historyId"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise PushMalformed(f"malformed Pub/Sub message ({type(error).__name__})") from error
    if not address or len(address) > 254:
        raise PushMalformed("malformed Pub/Sub message (address)")
    return address, history_id


def gmail_push_receive(*, body: bytes, authorization: str) -> list[int]:
    """Verify one Pub/Sub push and queue a sync of the mailboxes it names (their ids).

    PushRefused when the token does not verify (the view answers 401 and nothing happens);
    an unknown address is an empty list."""
    verify_push_token(authorization)
    address, _history_id = _notification(body)
    mailbox_ids = list(
        Mailbox.objects.filter(
            provider=Provider.GOOGLE,
            address=address,
            push__kind=PushSubscription.Kind.GMAIL,
        ).values_list("pk", flat=True)
    )
    if not mailbox_ids:
        logger.info("gmail push for a mailbox Trupeo does not watch: ignored")
        return []
    mark_notified(mailbox_ids)
    sync_now(mailbox_ids)
    return mailbox_ids


def gmail_watch(mailbox: Mailbox) -> datetime:
    """`users.watch` on the INBOX; when the watch ends (7 days from now)."""
    response = gmail_api(mailbox).call(
        "POST",
        f"{USER}/watch",
        units=WATCH_UNITS,
        json={
            "topicName": settings.GMAIL_PUBSUB_TOPIC,
            "labelIds": ["INBOX"],
            "labelFilterBehavior": "include",
        },
    )
    expiration_ms = int(response.json()["expiration"])
    return datetime.fromtimestamp(expiration_ms / 1000, tz=UTC)


def gmail_unwatch(mailbox: Mailbox) -> None:
    gmail_api(mailbox).call("POST", f"{USER}/stop", units=WATCH_UNITS, ok=(200, 204))
