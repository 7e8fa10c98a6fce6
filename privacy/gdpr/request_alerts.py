"""Staff are told of GDPR requests: when one arrives, then 7 and 2 days before it is due.

Every mail goes through `privacy.gdpr.staff_mail`: a request counts as told (or reminded) only
once the mail server took the mail for at least one staff address, so the hourly beat retries
what could not go out.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from privacy.gdpr.request_history import request_event_add
from privacy.gdpr.staff_mail import staff_mail_send
from privacy.models import OPEN_STATUSES, EventKind, GdprRequest

REMINDERS = ((7, "reminded_d7_at"), (2, "reminded_d2_at"))


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
        request_event_add(request, EventKind.STAFF_TOLD, None, ", ".join(told))
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
        request_event_add(request, EventKind.REMINDER, None, f"D-{days}")
    return True


def _admin_url(request: GdprRequest) -> str:
    return f"{settings.SITE_URL}/admin/privacy/gdprrequest/{request.pk}/change/"
