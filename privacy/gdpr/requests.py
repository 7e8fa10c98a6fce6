"""GDPR requests: every write on a request, each leaving a line in its history.

Deadlines are in `privacy.gdpr.deadlines`, the requester's sealed identity in
`privacy.gdpr.requesters`, the mail to staff in `privacy.gdpr.request_alerts`.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from privacy import tasks
from privacy.gdpr.deadlines import first_month_end
from privacy.gdpr.request_history import request_event_add
from privacy.gdpr.requesters import requester_seal
from privacy.models import EventKind, GdprRequest, IdentityCheck, RequestStatus, Right
from trupeo.queueing import enqueue_on_commit

MAX_EXTENSION_MONTHS = 2


@transaction.atomic
def gdpr_request_create(
    *,
    right: str,
    email: str,
    name: str = "",
    workspace: Workspace | None = None,
    received_at: datetime | None = None,
    actor: User | None = None,
    source: str = "",
    contact=None,
) -> GdprRequest:
    if right not in Right.values:
        raise ValidationError(_("Unknown right."))
    request = GdprRequest(
        right=right,
        workspace=workspace,
        received_at=received_at or timezone.now(),
        contact=contact,
    )
    requester_seal(request, name=name, email=email)
    request.save()
    request_event_add(request, EventKind.RECEIVED, actor, source)
    enqueue_on_commit(tasks.tell_staff_of_gdpr_request, request.pk)
    return request


@transaction.atomic
def gdpr_request_record_creation(*, request: GdprRequest, actor: User | None) -> None:
    """For a request typed into the admin by staff (saved by the admin form): the others
    are told as for a request from the contact form."""
    request_event_add(request, EventKind.RECEIVED, actor, "admin")
    enqueue_on_commit(tasks.tell_staff_of_gdpr_request, request.pk)


def _locked(request: GdprRequest) -> GdprRequest:
    return GdprRequest.objects.select_for_update().get(pk=request.pk)


@transaction.atomic
def gdpr_request_check_identity(
    *, request: GdprRequest, verified: bool, actor: User, note: str = ""
) -> GdprRequest:
    request = _locked(request)
    request.identity = IdentityCheck.VERIFIED if verified else IdentityCheck.FAILED
    request.identity_checked_by = actor
    request.identity_checked_at = timezone.now()
    if request.status == RequestStatus.RECEIVED:
        request.status = RequestStatus.IN_PROGRESS
    request.save()
    request_event_add(
        request, EventKind.IDENTITY, actor, f"{request.get_identity_display()}. {note}".strip()
    )
    return request


@transaction.atomic
def gdpr_request_extend(
    *, request: GdprRequest, months: int, told_at: datetime, reason: str, actor: User
) -> GdprRequest:
    """Push the deadline by `months` (1 or 2 in all); the requester was told at `told_at`."""
    request = _locked(request)
    if not request.is_open:
        raise ValidationError(_("This request is closed."))
    if not 1 <= request.extension_months + months <= MAX_EXTENSION_MONTHS:
        raise ValidationError(_("A deadline can be extended by two months at most in all."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for the extension (it is told to the requester)."))
    first_month = first_month_end(request.received_at)
    if told_at < request.received_at or told_at > first_month:
        raise ValidationError(
            _("The requester must be told of an extension within the first month, before %(date)s.")
            % {"date": timezone.localtime(first_month).strftime("%d/%m/%Y %H:%M")}
        )
    if told_at > timezone.now():
        raise ValidationError(_("The date the requester was told cannot be in the future."))
    request.extension_months += months
    request.extension_reason = reason.strip()
    request.extension_told_at = told_at
    request.save()
    request_event_add(
        request,
        EventKind.EXTENDED,
        actor,
        f"+{months} · {timezone.localtime(request.due_at):%d/%m/%Y} · {reason.strip()}",
    )
    return request


@transaction.atomic
def gdpr_request_answer(
    *, request: GdprRequest, answer: str, refused: bool, actor: User
) -> GdprRequest:
    request = _locked(request)
    if not answer.strip():
        raise ValidationError(_("Write the answer that was sent."))
    request.answer = answer.strip()
    request.answered_at = timezone.now()
    request.status = RequestStatus.REFUSED if refused else RequestStatus.ANSWERED
    request.save()
    request_event_add(
        request, EventKind.ANSWERED, actor, f"{request.get_status_display()}: {request.answer}"
    )
    return request


def require_verified(request: GdprRequest) -> None:
    if request.identity != IdentityCheck.VERIFIED:
        raise ValidationError(_("Verify the requester's identity first."))
    if request.workspace_id is None:
        raise ValidationError(_("Choose the workspace the request is about first."))
    if not request.is_open:
        raise ValidationError(_("This request is closed."))
