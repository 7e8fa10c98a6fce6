"""A webhook receiver on loopback, over HTTPS with a throw-away certificate: it keeps every
request it gets and answers with the statuses a test scripts (then 200)."""

from __future__ import annotations

import hashlib
import hmac
import time

from tests.parts.http_fake import FakeServer, Request, Response, certificate_files


class WebhookReceiver(FakeServer):
    name = "webhook-receiver"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.script: list[Response] = []
        self.route("POST", r"/hooks/[a-z0-9-]+", self._receive)

    @property
    def ca_file(self) -> str:
        return certificate_files()[0]

    def hook_url(self, name: str = "trupeo") -> str:
        return f"{self.url}/hooks/{name}"

    def _receive(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
            return self.script.pop(0) if self.script else Response(200, {"ok": True})

    @staticmethod
    def signature_checks(request: Request, secret: str, *, tolerance: int = 300) -> bool:
        """What a receiver's developer writes from our documentation, independently of
        Trupeo's own code: HMAC-SHA256 of "<t>." + body, constant-time compare, recent t."""
        fields = dict(part.split("=", 1) for part in request.headers["trupeo-signature"].split(","))
        timestamp = int(fields["t"])
        mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
        return abs(time.time() - timestamp) <= tolerance and hmac.compare_digest(
            mac.hexdigest(), fields["v1"]
        )
