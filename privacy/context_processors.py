from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from privacy.gdpr.processor_terms import terms_owner_pending
from privacy.site.terms_text import current_version


def processor_terms_banner(request: HttpRequest) -> dict:
    """True for the owner of a workspace whose owner has not accepted the data-processing
    terms in force themselves (a new version, or a record made by the operator)."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.is_owner:
        return {"processor_terms_banner": False}
    # Evaluated only by templates that show it; kept per process with the workspace's lists.
    return {
        "processor_terms_banner": SimpleLazyObject(
            lambda: terms_owner_pending(membership.workspace)
        ),
        "processor_terms_version": current_version(),
    }
