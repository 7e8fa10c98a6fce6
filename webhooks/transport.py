"""One POST to an endpoint, through the same checked connections as mail servers.

The host is resolved once, every address checked (no private or loopback target unless the
deployment allows them: local trials and tests), the socket connected to that very address
and TLS verified against the name. Plain HTTP is only for loopback. Redirects are not
followed: a 3xx could point anywhere.
"""

import http.client
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from inbox.mail.imap import ssl_context
from inbox.mail.network import AddressRefused, open_connection
from inbox.models import Security

TIMEOUT = 10.0
_READ_LIMIT = 64 * 1024
_VALID_URL = URLValidator(schemes=["https", "http"])


@dataclass(frozen=True)
class Answer:
    status: int | None  # None when no HTTP answer came back
    error: str  # a sentence when it did not work, never an address

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Checked(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = open_connection(self.host, self.port, security=Security.TLS, timeout=self.timeout)
        self.sock = ssl_context().wrap_socket(sock, server_hostname=self.host)


class _CheckedPlain(http.client.HTTPConnection):
    def connect(self) -> None:
        # Security.NONE: the address check refuses anything but loopback.
        self.sock = open_connection(
            self.host, self.port, security=Security.NONE, timeout=self.timeout
        )


def url_problem(url: str) -> str:
    """A sentence when `url` is not something Trupeo posts to, else ""."""
    try:
        _VALID_URL(url)
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, ValidationError):
        return _("This is not a valid address.")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return _("The address must start with https://.")
    if parts.username or parts.password:
        return _("The address must not contain a user name or password.")
    if port == 0:
        return _("This is not a valid address.")
    return ""


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT) -> Answer:
    problem = url_problem(url)
    if problem:
        return Answer(None, problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _Checked if secure else _CheckedPlain
    connection = kind(host, port, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(_READ_LIMIT)
        status = response.status
    except AddressRefused as refused:
        return Answer(None, str(refused))
    except socket.gaierror:
        return Answer(None, _("%(host)s does not resolve to any address.") % {"host": host})
    except ssl.SSLCertVerificationError:
        return Answer(
            None, _("The certificate of %(host)s is not valid for that name.") % {"host": host}
        )
    except TimeoutError:
        return Answer(
            None,
            _("%(host)s did not answer within %(seconds)d seconds.")
            % {"host": host, "seconds": timeout},
        )
    except ConnectionRefusedError:
        return Answer(None, _("%(host)s refused the connection.") % {"host": host})
    except (OSError, http.client.HTTPException):
        return Answer(None, _("The connection to %(host)s failed.") % {"host": host})
    finally:
        connection.close()
    if 300 <= status < 400:
        return Answer(status, _("The endpoint answered with a redirect, which is not followed."))
    if not 200 <= status < 300:
        return Answer(status, _("The endpoint answered HTTP %(status)d.") % {"status": status})
    return Answer(status, "")
