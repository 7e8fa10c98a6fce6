"""Who filed a GDPR request: their name and address, sealed under the site key.

A blind token (keyed under the site key) finds the requests of one address without storing
it in clear.
"""

from privacy.models import GdprRequest
from privacy.site.site_keys import site_keys


def _email_token(email: str) -> int:
    return site_keys().search_token("gdpr-requester:" + email.strip().lower())


def requester_seal(request: GdprRequest, *, name: str, email: str) -> None:
    """Seal the requester's name and address into `request` (not saved)."""
    keys, row = site_keys(), str(request.public_id)
    email = email.strip().lower()
    request.requester_name_sealed = keys.seal_text(name.strip()[:200], field="gdpr.name", row=row)
    request.requester_email_sealed = keys.seal_text(email, field="gdpr.email", row=row)
    request.requester_email_token = _email_token(email)


def requester(request: GdprRequest) -> tuple[str, str]:
    """(name, email) of the requester, decrypted."""
    keys, row = site_keys(), str(request.public_id)
    return (
        keys.open_text(bytes(request.requester_name_sealed), field="gdpr.name", row=row) or "",
        keys.open_text(bytes(request.requester_email_sealed), field="gdpr.email", row=row) or "",
    )


def requests_of(email: str):
    """The requests filed from an address (matched on the blind token)."""
    return GdprRequest.objects.filter(requester_email_token=_email_token(email))
