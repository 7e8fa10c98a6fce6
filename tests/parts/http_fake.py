"""The base of the local HTTPS fakes of internet services (Google, Microsoft).

A threaded HTTPS server on loopback with a throw-away certificate, routes matched by method
and path, an optional latency per request (the network and the provider's own time, for the
benchmarks), and a log of what was asked. Clients trust the certificate through
`REQUESTS_CA_BUNDLE` (set by the fixtures), so the code under test verifies TLS as it does in
production and needs no "insecure" switch.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus, urlsplit

from tests.parts import self_signed_certificate

HOST = "127.0.0.1"


@lru_cache(maxsize=1)
def certificate_files() -> tuple[str, str]:
    """(certificate file, key file), one pair for every fake of the session."""
    cert_pem, key_pem = self_signed_certificate(HOST)
    folder = Path(tempfile.mkdtemp(prefix="trupeo-fake-tls-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(cert_pem)
    key.touch(mode=0o600)
    key.write_bytes(key_pem)
    return str(cert), str(key)


def rsa_signing_key(label: str) -> tuple[str, bytes, bytes]:
    """(key id, private key PEM, self-signed certificate PEM): what an identity provider
    signs its tokens with and publishes for checking them."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_id = format(certificate.serial_number, "x")[:40]
    return key_id, private_pem, certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    def client_credentials(self) -> tuple[str, str]:
        """(client id, secret) from the form (client_secret_post) or Basic auth
        (client_secret_basic): OAuth servers accept both."""
        value = self.headers.get("authorization", "")
        if value.lower().startswith("basic "):
            decoded = base64.b64decode(value[6:]).decode()
            client_id, _sep, secret = decoded.partition(":")
            return unquote_plus(client_id), unquote_plus(secret)
        form = self.form()
        return form.get("client_id", ""), form.get("client_secret", "")

    @property
    def bearer(self) -> str:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else ""


@dataclass
class Response:
    status: int = 200
    body: bytes | dict | list | str = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json; charset=UTF-8"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return self.body, "application/octet-stream"


Handler = Callable[..., Response]


class FakeServer:
    """Subclasses register routes with `self.route(method, regex, handler)`; a handler gets
    the Request and the regex groups and returns a Response."""

    name = "fake"

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.routes: list[tuple[str, re.Pattern, Handler]] = []
        self.log: list[tuple[str, str]] = []  # (method, path) of every request
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://{HOST}:{self._server.server_address[1]}"

    def count(self, method: str, pattern: str) -> int:
        regex = re.compile(pattern + r"\Z")
        return sum(1 for m, p in list(self.log) if m == method and regex.match(p))

    def dispatch(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)  # the network and the provider's own time
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                return handler(request, *match.groups())
        return Response(404, {"error": {"code": 404, "message": "Not found"}})

    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs

            def log_message(self, *args) -> None:  # quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake.lock:
                    fake.log.append((request.method, request.path))
                response = fake.dispatch(request)
                payload, content_type = response.encoded()
                self.send_response(response.status)
                headers = {"Content-Type": content_type, **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        server = ThreadingHTTPServer((HOST, 0), _Handler)
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate_files())
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, name=self.name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class SlidingWindow:
    """What a provider counts over a moving window (quota units or requests)."""

    def __init__(self, limit: float, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._spent: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self.refused = 0
        self.peak = 0.0  # the most ever spent within one window

    def spend(self, units: float) -> bool:
        with self._lock:
            now = time.monotonic()
            self._spent = [(t, u) for t, u in self._spent if t > now - self.seconds]
            total = sum(u for _t, u in self._spent)
            if total + units > self.limit:
                self.refused += 1
                return False
            self._spent.append((now, units))
            self.peak = max(self.peak, total + units)
            return True
