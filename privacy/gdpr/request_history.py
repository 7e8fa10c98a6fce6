"""The history of a GDPR request: one append-only line per action, by whom and when."""

from django.db import transaction

from accounts.models import User
from privacy.models import GdprRequest, RequestEvent, RequestStatus


def request_event_add(
    request: GdprRequest, kind: str, actor: User | None, detail: str = ""
) -> RequestEvent:
    """Append one line to the request's history."""
    event = RequestEvent(request=request, kind=kind, actor=actor, detail=detail)
    event.save()
    return event


@transaction.atomic
def gdpr_request_log(*, request: GdprRequest, kind: str, actor: User | None, detail: str) -> None:
    """A history line for an action carried out elsewhere (export, erasure)."""
    request_event_add(request, kind, actor, detail)
    if request.status == RequestStatus.RECEIVED:
        GdprRequest.objects.filter(pk=request.pk).update(status=RequestStatus.IN_PROGRESS)
