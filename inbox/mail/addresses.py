"""People's names and addresses, as a person reads them and as the wire carries them.

On screen a recipient is "Sophie Lefèvre <sophie@exemple.fr>": the name decoded, the domain in
its Unicode form (`exemple.fr`, `bücher.de`). On the wire (`inbox.mail.compose`, `inbox.mail.sending`):

* a non-ASCII name is an RFC 2047 encoded-word (the email package does it);
* a non-ASCII domain is its IDNA (punycode) form, in the headers and in the SMTP envelope, so
  the message needs nothing of the server;
* a non-ASCII local part ("josé@…") cannot be written in ASCII at all: such a message is
  composed as an internationalised message (RFC 6532, UTF-8 headers) and handed only to a
  server that offers SMTPUTF8 (RFC 6531); one that does not refuses it in words, before DATA.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import idna
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from inbox.mail.parsing.header_text import decode_encoded_words

# Characters that make a display name need quotes to be read back as one name (RFC 5322 specials).
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_LOCAL_UNSAFE = re.compile(r"[\x00-\x20\x7f()<>\[\]:;@\\,\"]")


def decode_name(name: str) -> str:
    """A display name with any RFC 2047 encoded-words left in it decoded (a name pasted from a
    raw header, or saved by an earlier composer that showed it encoded), as leniently as the
    names of received mail are read."""
    return decode_encoded_words(name or "")[0]


def unicode_domain(domain: str) -> str:
    """`xn--bcher-kva.de` → `bücher.de`; anything undecodable is kept as it is."""
    if "xn--" not in domain.lower():
        return domain
    try:
        return idna.decode(domain)
    except idna.IDNAError:
        return domain


def ascii_domain(domain: str) -> str:
    """`bücher.de` → `xn--bcher-kva.de` (IDNA 2008 with UTS #46 mapping). Raises ValueError."""
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        raise ValueError(str(error)) from error


def is_international(address: str) -> bool:
    """Whether the local part is non-ASCII: only SMTPUTF8 can carry such an address."""
    return not address.rpartition("@")[0].isascii()


def envelope_address(address: str) -> str:
    """The address as the SMTP envelope carries it: the domain in IDNA form."""
    local, _at, domain = address.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def validate_address(address: str) -> None:
    """Django's check, extended to non-ASCII local parts (RFC 6531), which it refuses."""
    local, at, domain = address.rpartition("@")
    if at and local and not local.isascii():
        if len(local.encode()) > 64 or _LOCAL_UNSAFE.search(local) or ".." in local:
            raise ValidationError("invalid local part", code="invalid")
        validate_email(f"x@{domain}")
        return
    validate_email(address)


def display_address(person: dict) -> str:
    """ "Sophie Lefèvre <sophie@exemple.fr>" as a person reads and types it (never encoded);
    a name with a comma or the like is quoted, so that it reads back as one name."""
    address = person.get("address") or ""
    local, at, domain = address.rpartition("@")
    if at:
        address = f"{local}@{unicode_domain(domain)}"
    name = " ".join(decode_name(person.get("name") or "").split())
    if not name:
        return address
    if _SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def display_addresses(people: Iterable[dict]) -> str:
    return ", ".join(display_address(p) for p in people if p.get("address"))
