"""A real SMTP submission server on loopback (aiosmtpd), recording what it accepts.

`smtp_server` requires AUTH (PLAIN or LOGIN) with its `username` / `password` before MAIL,
offers STARTTLS with a throw-away certificate, and keeps every accepted message in
`messages`. `smtp_server_rejecting` answers every AUTH with 535, as a provider does for a
wrong or revoked password. `smtp_server_busy` answers the end of DATA with a 4xx
(`busy_reply`) `busy_times` times, then accepts; `refused` counts the messages it turned
away. `smtp_server_down` is stopped (nothing listens on its port, connections are refused)
until the test calls `server.start()`.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.parts import free_loopback_port, require_part, self_signed_certificate

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message: the envelope as the server saw it, and the exact bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    auth_user: str | None


class _Authenticator:
    """Accepts exactly one login; `accept=False` turns it into a wall of 535s."""

    def __init__(self, username: str, password: str, *, accept: bool) -> None:
        self._expected = (username.encode(), password.encode())
        self._accept = accept

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if self._accept and (auth_data.login, auth_data.password) == self._expected:
            return AuthResult(success=True, auth_data=auth_data.login.decode())
        # Not "handled": aiosmtpd then replies "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)


class _Recorder:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # Submission servers refuse unauthenticated mail. Checked here rather than with
        # aiosmtpd's auth_required, which warns on every connection without TLS.
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if self._server.busy_times > 0:  # "try again later": nothing kept
            self._server.busy_times -= 1
            self._server.refused.append(raw)
            return self._server.busy_reply
        self._server.messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                auth_user=session.auth_data if session.authenticated else None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    username: str
    password: str
    cert_pem: bytes = field(repr=False)
    messages: list[ReceivedMessage] = field(default_factory=list)
    # Answers the end of DATA with `busy_reply` this many more times, keeping nothing.
    busy_times: int = 0
    busy_reply: str = "451 4.3.0 Mail server temporarily busy, try again later"
    refused: list[bytes] = field(default_factory=list)
    accept_auth: bool = True
    # Offers SMTPUTF8 (RFC 6531), as Gmail and Microsoft 365 do; set before `start()`.
    smtputf8: bool = False
    key_pem: bytes = field(default=b"", repr=False)
    _controller: Controller | None = field(default=None, repr=False)

    def start(self) -> None:
        """Listen (again) on this server's port."""
        if self._controller is not None:
            return
        controller = Controller(
            _Recorder(self),
            hostname=self.host,
            port=self.port,
            server_hostname="smtp.trupeo.test",
            authenticator=_Authenticator(self.username, self.password, accept=self.accept_auth),
            # Loopback only: real providers demand TLS first, tests may use either path.
            auth_require_tls=False,
            tls_context=_server_tls_context(self.cert_pem, self.key_pem),
            enable_SMTPUTF8=self.smtputf8,
        )
        controller.start()
        self._controller = controller

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate, for STARTTLS."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _server_tls_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    # ssl can only load a certificate chain from files; a temp file per server is fine.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory(prefix="trupeo-smtp-") as tmp:
        cert_path, key_path = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_path.write_bytes(cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def start_smtp_server(
    *,
    username: str = "agent@trupeo.test",
    password: str = "correct horse battery staple",
    accept_auth: bool = True,
    attempts: int = 3,
) -> SmtpServer:
    cert_pem, key_pem = self_signed_certificate(HOST)
    failure: Exception | None = None
    for _ in range(attempts):  # the probed port may be taken before we bind it
        server = SmtpServer(
            HOST,
            free_loopback_port(),
            username,
            password,
            cert_pem,
            accept_auth=accept_auth,
            key_pem=key_pem,
        )
        try:
            server.start()
        except (OSError, RuntimeError) as exc:
            failure = exc
            continue
        return server
    require_part("smtp", f"aiosmtpd could not start: {failure}")


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server that accepts `server.username` / `server.password` and records mail."""
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server_rejecting() -> Iterator[SmtpServer]:
    """An SMTP server that rejects every AUTH attempt with 535."""
    server = start_smtp_server(accept_auth=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server_busy() -> Iterator[SmtpServer]:
    """Answers 451 at the end of DATA `server.busy_times` times (3 unless changed), then
    accepts; what it turned away is in `server.refused`."""
    server = start_smtp_server()
    server.busy_times = 3
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server_down() -> Iterator[SmtpServer]:
    """A server whose port refuses connections until the test calls `server.start()`."""
    server = start_smtp_server()
    server.stop()
    try:
        yield server
    finally:
        server.stop()
