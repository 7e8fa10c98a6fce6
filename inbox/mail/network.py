"""Where Trupeo may open a connection to a mail server, and opening it there and only there.

A host name is resolved once per connection; every address it resolves to is checked, and
the socket is connected to one of those very addresses (TLS is then verified against the
name by the caller). Resolving again later (DNS rebinding, a record re-pointed after the
form was saved) can therefore not lead anywhere the check did not see.
"""

import ipaddress
import socket
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from inbox.models import Security

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64 (RFC 6052): the last 32 bits are an IPv4 address the gateway connects to.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """A destination Trupeo does not connect to, with a sentence a person understands."""


@dataclass(frozen=True)
class Endpoint:
    family: int
    sockaddr: tuple
    address: Address


def private_hosts_allowed() -> bool:
    return bool(getattr(settings, "TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS", settings.DEBUG))


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(address.packed[12:])
    # IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks to IPv4);
    # Python counts it as global.
    if address.packed[:12] == bytes(12) and int(address) > 1:
        return ipaddress.IPv4Address(address.packed[12:])
    return None


def _is_public(address: Address) -> bool:
    for candidate in (address, _embedded_ipv4(address)):
        if candidate is None:
            continue
        if not candidate.is_global or candidate.is_multicast or candidate.is_reserved:
            return False
    return True


def _is_loopback(address: Address) -> bool:
    embedded = _embedded_ipv4(address)
    return address.is_loopback or (embedded is not None and embedded.is_loopback)


def resolve(host: str, port: int) -> list[Endpoint]:
    """Every TCP address `host` resolves to, now (`socket.gaierror` when none)."""
    endpoints = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        endpoints.append(Endpoint(family, tuple(sockaddr), address))
    if not endpoints:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return endpoints


def private_address_sentence(host: str) -> str:
    # Never the address itself: it would tell how the server's own network is laid out.
    return _(
        "%(host)s points to a private or local network address, which Trupeo does not "
        "connect to. Use the server's public name."
    ) % {"host": host}


def plaintext_sentence(host: str) -> str:
    return _(
        "%(host)s is not on this machine, so an unencrypted connection would send the password "
        "and the mail across the network in clear. Choose TLS or STARTTLS."
    ) % {"host": host}


def destination_problem(
    host: str, endpoints: list[Endpoint], *, security: str, allow_private: bool
) -> str:
    """A sentence when Trupeo must not connect to these addresses, else ""."""
    if not allow_private and not all(_is_public(e.address) for e in endpoints):
        return private_address_sentence(host)
    if security == Security.NONE and not all(_is_loopback(e.address) for e in endpoints):
        return plaintext_sentence(host)
    return ""


def host_problem(host: str, *, security: str, allow_private: bool) -> str:
    """The form's early check: the same rules, on what the name resolves to today.

    A name that does not resolve yet is left to the connection, which checks again (and
    says so in its own words) — except for an unencrypted connection, which needs proof
    that the server is on this machine.
    """
    try:
        endpoints = resolve(host, 0)
    except (OSError, UnicodeError):
        return plaintext_sentence(host) if security == Security.NONE else ""
    return destination_problem(host, endpoints, security=security, allow_private=allow_private)


def open_connection(host: str, port: int, *, security: str, timeout: float) -> socket.socket:
    """A TCP socket to `host`, connected to an address checked a moment before.

    `AddressRefused` (before any packet leaves) when an address is not allowed; the
    socket error of the last address tried otherwise.
    """
    endpoints = resolve(host, port)
    problem = destination_problem(
        host, endpoints, security=security, allow_private=private_hosts_allowed()
    )
    if problem:
        raise AddressRefused(problem)
    error: OSError | None = None
    for endpoint in endpoints:
        sock = socket.socket(endpoint.family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(endpoint.sockaddr)
        except OSError as failure:
            sock.close()
            error = failure
            continue
        return sock
    assert error is not None
    raise error
