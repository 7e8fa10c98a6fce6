"""GDPR requests: deadlines, and every write on a request (each one leaves a history line).

The deadline (GDPR art. 12.3, as the CNIL reads it): one month from receipt. We take the
earlier of "the same day next month" and "30 days later", so the promise holds whichever
reading a requester has in mind. A day that does not exist next month falls back to the last
day of that month (31 January → 28 or 29 February). An extension adds up to two further
months, and the requester must be told within the first month.
"""

import calendar
import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from privacy.models import (
    OPEN_STATUSES,
    EventKind,
    GdprRequest,
    IdentityCheck,
    RequestEvent,
    RequestStatus,
    Right,
)
from privacy.site_keys import site_keys
from privacy.staff_mail import staff_mail_send

logger = logging.getLogger(__name__)

MAX_EXTENSION_MONTHS = 2
REMINDERS = ((7, "reminded_d7_at"), (2, "reminded_d2_at"))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the last day of that month if it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _shift_months(moment: datetime, months: int) -> datetime:
    local = timezone.localtime(moment)
    shifted = add_months(local.date(), months)
    return timezone.make_aware(datetime.combine(shifted, local.time().replace(tzinfo=None)))


def first_month_end(received_at: datetime) -> datetime:
    """The earlier of one calendar month and 30 days after receipt."""
    return min(_shift_months(received_at, 1), received_at + timedelta(days=30))


def due_date(received_at: datetime, *, extension_months: int = 0) -> datetime:
    base = first_month_end(received_at)
    return _shift_months(base, extension_months) if extension_months else base


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


def _event(request: GdprRequest, kind: str, actor: User | None, detail: str = "") -> RequestEvent:
    event = RequestEvent(request=request, kind=kind, actor=actor, detail=detail)
    event.save()
    return event


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
    _event(request, EventKind.RECEIVED, actor, source)
    from privacy.tasks import tell_staff_of_gdpr_request

    tell_staff_of_gdpr_request.delay_on_commit(request.pk)
    return request


@transaction.atomic
def gdpr_request_record_creation(*, request: GdprRequest, actor: User | None) -> None:
    """For a request typed into the admin by staff (saved by the admin form): the others
    are told as for a request from the contact form."""
    _event(request, EventKind.RECEIVED, actor, "admin")
    from privacy.tasks import tell_staff_of_gdpr_request

    tell_staff_of_gdpr_request.delay_on_commit(request.pk)


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
    _event(request, EventKind.IDENTITY, actor, f"{request.get_identity_display()}. {note}".strip())
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
    _event(
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
    _event(request, EventKind.ANSWERED, actor, f"{request.get_status_display()}: {request.answer}")
    return request


@transaction.atomic
def gdpr_request_log(*, request: GdprRequest, kind: str, actor: User | None, detail: str) -> None:
    """A history line for an action carried out elsewhere (export, erasure)."""
    _event(request, kind, actor, detail)
    if request.status == RequestStatus.RECEIVED:
        GdprRequest.objects.filter(pk=request.pk).update(status=RequestStatus.IN_PROGRESS)


def require_verified(request: GdprRequest) -> None:
    if request.identity != IdentityCheck.VERIFIED:
        raise ValidationError(_("Verify the requester's identity first."))
    if request.workspace_id is None:
        raise ValidationError(_("Choose the workspace the request is about first."))
    if not request.is_open:
        raise ValidationError(_("This request is closed."))


def gdpr_request_tell_staff(*, request_id: int) -> bool:
    """Email staff that a request arrived (once; True when it went out or already had).

    Queued when the request is created; the hourly beat retries any that could not be sent,
    so a mail server down at that moment delays the news, never loses it.
    """
    with transaction.atomic():
        # The row stays locked while the mail goes out: two workers never both send it.
        request = (
            GdprRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=request_id, staff_told_at=None)
            .first()
        )
        if request is None:
            return False
        context = {"request": request, "url": _admin_url(request)}
        told = staff_mail_send(
            template="admin/privacy/email/gdpr_received",
            context=context,
            what=f"GDPR request {request.pk} received",
        )
        if not told:
            return False
        GdprRequest.objects.filter(pk=request.pk).update(staff_told_at=timezone.now())
        _event(request, EventKind.STAFF_TOLD, None, ", ".join(told))
    return True


def gdpr_requests_tell_staff() -> int:
    """Retry the arrival emails that did not go out (beat); how many went out now."""
    pending = GdprRequest.objects.filter(status__in=OPEN_STATUSES, staff_told_at=None)
    return sum(
        gdpr_request_tell_staff(request_id=pk)
        for pk in pending.order_by("received_at").values_list("pk", flat=True)
    )


def gdpr_reminders_send(*, now: datetime | None = None) -> int:
    """Remind staff of open requests due in 7 days, then in 2 days; each reminder once.

    A reminder is marked sent only once the mail server took it for at least one staff
    address: with no staff address, or a failing server, it stays due and the next beat run
    tries again. The row is locked while its mail goes out, so two beat runs (or two workers)
    never send it twice. A request first seen already within 2 days gets only the D-2 one.
    """
    now = now or timezone.now()
    sent = 0
    for days, field in REMINDERS:
        due = GdprRequest.objects.filter(
            status__in=OPEN_STATUSES, due_at__lte=now + timedelta(days=days), **{field: None}
        ).order_by("due_at")
        for pk in due.values_list("pk", flat=True):
            sent += _reminder_send(pk, days, field, now)
    return sent


def _reminder_send(pk: int, days: int, field: str, now: datetime) -> bool:
    with transaction.atomic():
        request = (
            GdprRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, **{field: None})
            .first()
        )
        if request is None:  # sent meanwhile, or being sent by another worker
            return False
        if days == 7 and request.due_at <= now + timedelta(days=2):
            # The D-2 reminder says it all: D-7 is passed over, not sent.
            GdprRequest.objects.filter(pk=pk).update(**{field: now})
            return False
        context = {"request": request, "days": days, "url": _admin_url(request)}
        if not staff_mail_send(
            template="admin/privacy/email/gdpr_reminder",
            context=context,
            what=f"GDPR request {pk} D-{days} reminder",
        ):
            return False
        GdprRequest.objects.filter(pk=pk).update(**{field: now})
        _event(request, EventKind.REMINDER, None, f"D-{days}")
    return True


def _admin_url(request: GdprRequest) -> str:
    return f"{settings.SITE_URL}/admin/privacy/gdprrequest/{request.pk}/change/"
