"""A local, stateful fake of Cloudflare Turnstile's siteverify endpoint.

It answers like Cloudflare, including its published test keys: the secret
`1x0000000000000000000000000000000AA` always passes, `2x…AA` always fails, `3x…AA` answers
"timeout-or-duplicate"; the test site keys make the widget produce the dummy token
`XXXX.DUMMY.TOKEN.XXXX`, which a production secret refuses. With the fake's own "production"
secret, only tokens it issued (`issue_token()`, as a solved widget would) pass, once each.
Every request is recorded, so tests can check exactly what was sent.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.parts.http_fake import FakeServer, Request, Response, certificate_files

SITE_KEY_PASS = "1x00000000000000000000AA"
SECRET_PASS = "1x0000000000000000000000000000000AA"
SECRET_FAIL = "2x0000000000000000000000000000000AA"
SECRET_SPENT = "3x0000000000000000000000000000000AA"
DUMMY_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"
PRODUCTION_SECRET = "0x4AAAAAAAfakeProductionSecretKey"
PATH = "/turnstile/v0/siteverify"


class TurnstileFake(FakeServer):
    name = "turnstile-fake"

    def __init__(self) -> None:
        super().__init__()
        self.issued: set[str] = set()
        self.spent: set[str] = set()
        self.verifications: list[dict[str, str]] = []
        self._state = threading.Lock()
        self.route("POST", PATH, self._siteverify)

    @property
    def verify_url(self) -> str:
        return self.url + PATH

    def issue_token(self) -> str:
        """A token as a solved widget hands to the page (valid once, for 300 s at Cloudflare)."""
        token = "0." + secrets.token_urlsafe(48)
        with self._state:
            self.issued.add(token)
        return token

    def _siteverify(self, request: Request) -> Response:
        form = request.form()
        with self._state:
            self.verifications.append(form)
        secret, token = form.get("secret", ""), form.get("response", "")
        errors: list[str] = []
        if not secret:
            errors.append("missing-input-secret")
        if not token:
            errors.append("missing-input-response")
        if not errors:
            errors = self._judge(secret, token)
        body = {"success": not errors, "error-codes": errors, "messages": []}
        if not errors:
            body.update(
                challenge_ts=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                hostname="localhost",
                action="",
                cdata="",
            )
        return Response(200, body)

    def _judge(self, secret: str, token: str) -> list[str]:
        if secret == SECRET_PASS:
            return []
        if secret == SECRET_FAIL:
            return ["invalid-input-response"]
        if secret == SECRET_SPENT:
            return ["timeout-or-duplicate"]
        if secret != PRODUCTION_SECRET:
            return ["invalid-input-secret"]
        with self._state:
            if token in self.spent:
                return ["timeout-or-duplicate"]
            if token not in self.issued:  # the dummy token among others
                return ["invalid-input-response"]
            self.issued.discard(token)
            self.spent.add(token)
        return []


@pytest.fixture
def turnstile(settings, monkeypatch) -> Iterator[TurnstileFake]:
    """The fake, started, with Trupeo's Turnstile settings pointing at it (production-like
    secret: only issued tokens pass, once)."""
    fake = TurnstileFake().start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate_files()[0])
    settings.TURNSTILE_VERIFY_URL = fake.verify_url
    settings.TURNSTILE_SITE_KEY = SITE_KEY_PASS
    settings.TURNSTILE_SECRET_KEY = PRODUCTION_SECRET
    yield fake
    fake.stop()
