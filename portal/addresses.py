"""How the portal names a requester without keeping their address in clear.

An address is normalised (trimmed, lower-cased), sealed with the workspace key bound to the row
that holds it, and found again by a blind token of its own ("portal-address:" prefix, so it
never matches a search token of the mail index).
"""

from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from inbox.mail.search import fold
from trupeo.crypto import WorkspaceKeys


def normalise(address: str) -> str:
    return parseaddr(address.strip())[1].strip().lower()


def is_address(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def address_token(keys: WorkspaceKeys, address: str) -> int:
    return keys.search_token("portal-address:" + normalise(address))


def seal_address(keys: WorkspaceKeys, address: str, *, row: str) -> bytes:
    return keys.seal(normalise(address).encode(), field="portal.address", row=row)


def open_address(keys: WorkspaceKeys, blob, *, row: str) -> str:
    return keys.open(blob, field="portal.address", row=row).decode()


def index_word(address: str) -> str:
    """The word the mail index keeps for a whole address or a domain (`inbox.mail.search`)."""
    return fold(address.lstrip("@")).strip(".-+")


def matches(scope: str, address: str) -> bool:
    """Whether `address` falls in `scope`: the same address, or any address of "@domain"."""
    address = normalise(address)
    if scope.startswith("@"):
        return address.endswith(scope)
    return address == scope
