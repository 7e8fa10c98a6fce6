"""Talking to IMAP and SMTP servers: connecting, and saying in words what went wrong."""

import imaplib
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.utils.translation import gettext as _
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from inbox.mail.network import AddressRefused, open_connection
from inbox.models import Mailbox, Security
from trupeo.faults import fault_sentence, internal_error_sentence

TIMEOUT = 30  # seconds for connect and each command
# Port used when none is set, per protocol and security.
DEFAULT_PORTS: dict[str, dict[str, int]] = {
    "imap": {Security.TLS: 993, Security.STARTTLS: 143, Security.NONE: 143},
    "smtp": {Security.TLS: 465, Security.STARTTLS: 587, Security.NONE: 587},
}


def default_port(protocol: str, security: str) -> int:
    return DEFAULT_PORTS[protocol][security]


class MailServerError(Exception):
    """A mail server problem, with a sentence a person understands (`str(error)`)."""


class SettingsRefused(MailServerError):
    """The mailbox's settings themselves are refused (a password saved for another server,
    an unencrypted connection across the network): retrying cannot help, an admin must
    reconnect the mailbox."""


Binding = tuple[str, int, str]  # (host, port, username) a saved password was given for


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    security: str
    username: str
    password: str = field(repr=False)  # never in a log line or a traceback
    # Where a saved password may go; None: the password was typed for this very connection.
    bound_to: Binding | None = None

    @property
    def destination(self) -> Binding:
        return (self.host, self.port, self.username)


def endpoint_sentence(protocol: str) -> str:
    return _(
        "The %(protocol)s server, port or username changed: enter the password again. A saved "
        "password is only ever sent to the server, port and username it was saved for."
    ) % {"protocol": protocol}


def _check_binding(server: ServerSettings, protocol: str) -> None:
    if server.bound_to is not None and tuple(server.bound_to) != server.destination:
        raise SettingsRefused(endpoint_sentence(protocol))


@lru_cache(maxsize=4)
def _ssl_context(extra_ca_file: str) -> ssl.SSLContext:
    # Certificates are always verified; a deployment talking to servers with a private CA
    # (and the test suite) adds it with TRUPEO_EXTRA_CA_FILE.
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context


def ssl_context() -> ssl.SSLContext:
    return _ssl_context(settings.TRUPEO_EXTRA_CA_FILE)


def _login_refused(error: BaseException, *, host: str, protocol: str) -> str:
    """Why a server refused the login, from its answer (the text never holds the password)."""
    text = str(error)
    lowered = text.lower()
    values = {"protocol": protocol, "host": host}
    if "privacyrequired" in lowered or "plaintext authentication disallowed" in lowered:
        return (
            _("%(host)s refuses passwords over an unencrypted connection. Choose TLS or STARTTLS.")
            % values
        )
    if "unavailable" in lowered or getattr(error, "smtp_code", 0) == 454:
        return (
            _(
                "%(protocol)s login on %(host)s is temporarily unavailable. Try again in a few minutes."
            )
            % values
        )
    if (
        "application-specific password" in lowered
        or "app password" in lowered
        or "web login required" in lowered
        or getattr(error, "smtp_code", 0) == 534
    ):
        return (
            _(
                "%(host)s wants an app password for %(protocol)s rather than the account's usual "
                "password: create one in the account's security settings."
            )
            % values
        )
    return _("%(protocol)s login refused by %(host)s: check the username and password.") % values


# Errors raised by these libraries carry the mail server's answer.
_MAIL_LIBRARIES = ("imaplib", "imapclient", "smtplib")
_MISSING_FOLDER_MARKS = ("nonexistent", "doesn't exist", "does not exist", "unknown mailbox")


def describe(error: BaseException, *, host: str, protocol: str, folder: str = "") -> str:
    """A sentence for the health panel and the connection test; never the password.

    `folder` names the folder being opened, if any, so a missing one is named.
    """
    if isinstance(error, MailServerError | AddressRefused):
        return str(error)
    # Our own database, storage or queue failing is never the mail server's fault.
    if (ours := fault_sentence(error)) is not None:
        return ours
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(
        error.__context__, TimeoutError
    ):
        error = error.__context__  # smtplib words a silent server as a closed connection
    if isinstance(error, LoginError | smtplib.SMTPAuthenticationError):
        return _login_refused(error, host=host, protocol=protocol)
    if (
        folder
        and isinstance(error, imaplib.IMAP4.error)
        and any(mark in str(error).lower() for mark in _MISSING_FOLDER_MARKS)
    ):
        return _(
            "The folder “%(folder)s” does not exist on %(host)s. Check the folder's name in "
            "your mail program."
        ) % {"folder": folder, "host": host}
    if isinstance(error, ssl.SSLCertVerificationError):
        return _(
            "The TLS certificate of %(host)s could not be verified (%(reason)s). Check the host "
            "name, or ask the server's administrator for a valid certificate."
        ) % {"host": host, "reason": error.verify_message or error.reason}
    if isinstance(error, ssl.SSLError):
        return _(
            "The TLS handshake with %(host)s failed. Check the port and the security setting "
            "(TLS or STARTTLS)."
        ) % {"host": host}
    if isinstance(error, socket.gaierror):
        return _("The host %(host)s could not be found. Check its name.") % {"host": host}
    if isinstance(error, TimeoutError | socket.timeout):
        return _("%(host)s did not answer in time. Check the host, the port and any firewall.") % {
            "host": host
        }
    if isinstance(error, ConnectionRefusedError):
        return _("%(host)s refused the connection on this port. Check the port number.") % {
            "host": host
        }
    if isinstance(
        error, smtplib.SMTPServerDisconnected | imaplib.IMAP4.abort | ConnectionResetError
    ):
        return _(
            "%(host)s closed the connection unexpectedly. Check the port and the security "
            "setting (TLS or STARTTLS)."
        ) % {"host": host}
    if isinstance(error, OSError) and not isinstance(error, imaplib.IMAP4.error):
        return _("%(host)s could not be reached (%(reason)s).") % {
            "host": host,
            "reason": error.strerror or error.__class__.__name__,
        }
    if isinstance(error, smtplib.SMTPNotSupportedError):
        if "starttls" in str(error).lower():
            return _("%(host)s does not offer STARTTLS on this port.") % {"host": host}
        return _(
            "%(host)s does not accept a login on this port. Use the submission port (587 or "
            "465), or leave the SMTP username empty if the server needs none."
        ) % {"host": host}
    if isinstance(error, smtplib.SMTPException):
        return _("The SMTP server %(host)s refused: %(reason)s") % {
            "host": host,
            "reason": str(error)[:200],
        }
    if not type(error).__module__.startswith(_MAIL_LIBRARIES):
        # A bug of ours: its text may hold internal details, and the server is not to blame.
        return internal_error_sentence()
    return _("The %(protocol)s server %(host)s answered with an error: %(reason)s") % {
        "protocol": protocol,
        "host": host,
        "reason": str(error)[:200],
    }


class _PinnedIMAP4(imaplib.IMAP4):
    """imaplib on a socket already connected to a checked address; TLS verified against
    the host name, never against whatever the name resolves to later."""

    def __init__(
        self, host: str, port: int, sock: socket.socket, tls: ssl.SSLContext | None
    ) -> None:
        self._pinned_socket = sock
        self._pinned_tls = tls
        super().__init__(host, port)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        if self._pinned_tls is None:
            return self._pinned_socket
        try:
            return self._pinned_tls.wrap_socket(self._pinned_socket, server_hostname=self.host)
        except BaseException:
            self._pinned_socket.close()
            raise


class _PinnedIMAPClient(IMAPClient):
    def __init__(self, server: ServerSettings, sock: socket.socket) -> None:
        self._pinned_socket = sock
        tls = server.security == Security.TLS
        super().__init__(
            server.host,
            server.port,
            ssl=tls,
            ssl_context=ssl_context() if tls else None,
            timeout=TIMEOUT,
        )

    def _create_IMAP4(self) -> imaplib.IMAP4:
        return _PinnedIMAP4(
            self.host, self.port, self._pinned_socket, self.ssl_context if self.ssl else None
        )


class _PinnedSMTP(smtplib.SMTP):
    """smtplib on a socket already connected to a checked address (TLS from the first
    byte when `tls` is given; STARTTLS verifies against the host name too)."""

    def __init__(self, host: str, sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        self._pinned_socket = sock
        self._pinned_tls = tls
        super().__init__(timeout=TIMEOUT)  # no host: connect() is called with the name
        self._host = host  # what starttls() verifies the certificate against

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        if self._pinned_tls is None:
            return self._pinned_socket
        try:
            return self._pinned_tls.wrap_socket(self._pinned_socket, server_hostname=host)
        except BaseException:
            self._pinned_socket.close()
            raise


def server_socket(server: ServerSettings, protocol: str) -> socket.socket:
    """The socket a connection starts from, or MailServerError before any packet leaves."""
    _check_binding(server, protocol)
    try:
        return open_connection(server.host, server.port, security=server.security, timeout=TIMEOUT)
    except AddressRefused as error:
        raise SettingsRefused(str(error)) from error
    except Exception as error:
        raise MailServerError(describe(error, host=server.host, protocol=protocol)) from error


def imap_connect(server: ServerSettings) -> IMAPClient:
    """A logged-in IMAPClient, or MailServerError in words."""
    sock = server_socket(server, "IMAP")
    try:
        client = _PinnedIMAPClient(server, sock)
        if server.security == Security.STARTTLS:
            if b"STARTTLS" not in client.capabilities():
                raise MailServerError(
                    _("%(host)s does not offer STARTTLS on this port.") % {"host": server.host}
                )
            client.starttls(ssl_context())
        client.login(server.username, server.password)
    except Exception as error:
        sock.close()  # (a no-op once TLS took the socket over, which imaplib then closes)
        if isinstance(error, MailServerError):
            raise
        raise MailServerError(describe(error, host=server.host, protocol="IMAP")) from error
    client.normalise_times = False  # aware datetimes for INTERNALDATE, not local naive ones
    # IMAPClient turns imaplib's debugging to its most verbose level and routes it to a
    # logger: imaplib then builds the repr of every response, whole messages included, only
    # for the logger to drop it. That was most of a sync's fetching time (0.4 ms a message).
    client._imap.debug = 0
    return client


def smtp_connect(server: ServerSettings) -> smtplib.SMTP:
    """A logged-in SMTP connection, or MailServerError in words."""
    sock = server_socket(server, "SMTP")
    smtp: smtplib.SMTP | None = None
    try:
        smtp = _PinnedSMTP(
            server.host, sock, ssl_context() if server.security == Security.TLS else None
        )
        code, message = smtp.connect(server.host, server.port)
        if code != 220:
            raise smtplib.SMTPConnectError(code, message)
        if server.security == Security.STARTTLS:
            smtp.starttls(context=ssl_context())
        if server.username:
            smtp.login(server.username, server.password)
    except Exception as error:
        if smtp is not None:
            smtp.close()
        sock.close()
        if isinstance(error, MailServerError):
            raise
        raise MailServerError(describe(error, host=server.host, protocol="SMTP")) from error
    return smtp


def credentials_binding(credentials: dict, protocol: str) -> Binding | None:
    """The (host, port, username) the saved password of `protocol` was given for.

    None for credentials saved before passwords were bound: they are bound to the
    mailbox's columns as they are (the form then asks again when any of them changes).
    """
    bound = credentials.get("bound_to", {}).get(protocol)
    return (str(bound[0]), int(bound[1]), str(bound[2])) if bound else None


def _server_settings(mailbox: Mailbox, credentials: dict, protocol: str) -> ServerSettings:
    security = getattr(mailbox, f"{protocol}_security")
    return ServerSettings(
        host=getattr(mailbox, f"{protocol}_host"),
        port=getattr(mailbox, f"{protocol}_port") or DEFAULT_PORTS[protocol][security],
        security=security,
        username=getattr(mailbox, f"{protocol}_username"),
        password=credentials.get(f"{protocol}_password", ""),
        bound_to=credentials_binding(credentials, protocol),
    )


def imap_settings(mailbox: Mailbox, credentials: dict) -> ServerSettings:
    return _server_settings(mailbox, credentials, "imap")


def smtp_settings(mailbox: Mailbox, credentials: dict) -> ServerSettings:
    return _server_settings(mailbox, credentials, "smtp")
