from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from billing.banner import Banner, banner_for


def billing_banner(request: HttpRequest) -> dict:
    """The billing banner of the active workspace (trial, overdue, read-only), if any."""
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        return {"billing_banner": None}

    def banner() -> Banner | None:
        return banner_for(workspace)

    # Read only by templates that show it: one query, only then.
    return {"billing_banner": SimpleLazyObject(banner)}
