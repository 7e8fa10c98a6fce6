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
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
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
    return request


@transaction.atomic
def gdpr_request_record_creation(*, request: GdprRequest, actor: User | None) -> None:
    """For a request typed into the admin by staff (saved by the admin form)."""
    _event(request, EventKind.RECEIVED, actor, "admin")


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


def staff_emails() -> list[str]:
    return list(
        User.objects.filter(is_staff=True, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
    )


def gdpr_reminders_send(*, now: datetime | None = None) -> int:
    """Remind staff of open requests due in 7 days, then in 2 days; each reminder once.

    The reminder is claimed by a conditional update before the mail goes out, so two beat
    runs (or two workers) never send it twice. A request first seen already within 2 days
    gets only the D-2 reminder.
    """
    now = now or timezone.now()
    sent = 0
    for days, field in REMINDERS:
        due = GdprRequest.objects.filter(
            status__in=OPEN_STATUSES, due_at__lte=now + timedelta(days=days), **{field: None}
        ).order_by("due_at")
        for request in due:
            with transaction.atomic():
                claimed = GdprRequest.objects.filter(pk=request.pk, **{field: None}).update(
                    **{field: now}
                )
                if not claimed:
                    continue
                if days == 7 and request.due_at <= now + timedelta(days=2):
                    continue  # the D-2 reminder, just below, says it all
                _event(request, EventKind.REMINDER, None, f"D-{days}")
                _reminder_mail(request, days)
                sent += 1
    return sent


def _reminder_mail(request: GdprRequest, days: int) -> None:
    recipients = staff_emails()
    if not recipients:
        logger.warning("GDPR request %s is due soon but no staff account exists", request.pk)
        return
    context = {
        "request": request,
        "days": days,
        "url": f"{settings.SITE_URL}/admin/privacy/gdprrequest/{request.pk}/change/",
    }
    subject = render_to_string("admin/privacy/email/gdpr_reminder_subject.txt", context).strip()
    body = render_to_string("admin/privacy/email/gdpr_reminder_message.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, recipients))
