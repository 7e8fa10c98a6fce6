"""Where each sealed contact value lives (see `trupeo.crypto`: bound to workspace, field, row)."""

from trupeo.crypto import WorkspaceKeys

CONTACT_NAME = "contact.name"
CONTACT_NOTE = "contact.note"
ADDRESS = "contact.address"
ORGANISATION_NAME = "organisation.name"
ORGANISATION_DOMAIN = "organisation.domain"


def contact_row(contact_id: int) -> str:
    return f"contact:{contact_id}"


def address_row(digest: str) -> str:
    """An address is bound to its digest, not to its contact: a merge moves it unchanged."""
    return f"contact_address:{digest}"


def organisation_row(organisation_id: int) -> str:
    return f"organisation:{organisation_id}"


def open_or_blank(keys: WorkspaceKeys, blob, *, field: str, row: str) -> str:
    """An empty column (never sealed yet) reads as an empty string."""
    if blob is None or not bytes(blob):
        return ""
    return keys.open_text(blob, field=field, row=row) or ""
