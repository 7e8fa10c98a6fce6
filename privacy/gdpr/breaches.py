"""The breach register's 72-hour clock (GDPR art. 33.1): staff are emailed as the deadline to
notify the CNIL approaches, 48, 24 and 6 hours before it, then once when it has passed.

Only breaches still waiting for a decision count: neither notified nor recorded as unlikely
to result in a risk. Each alert is marked sent only when the mail left for at least one staff
address (`privacy.gdpr.staff_mail`); otherwise the next beat run tries again. A breach registered
late gets only the alert that applies now, not the ones it has already passed.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from privacy.gdpr.staff_mail import staff_mail_send
from privacy.models import Breach

NOTIFICATION_HOURS = 72
# (hours before the deadline, field marking the alert); 0 is the deadline itself (late).
ALERTS = (
    (48, "alerted_48h_at"),
    (24, "alerted_24h_at"),
    (6, "alerted_6h_at"),
    (0, "alerted_late_at"),
)


def breaches_pending():
    """Breaches whose CNIL notification is still to be decided."""
    return Breach.objects.filter(cnil_notified_at=None, no_notification_reason="")


def breach_alerts_send(*, now: datetime | None = None) -> int:
    """Send the alerts that are due; how many went out."""
    now = now or timezone.now()
    first = now - timedelta(hours=NOTIFICATION_HOURS - ALERTS[0][0])
    due = breaches_pending().filter(detected_at__lte=first).order_by("detected_at")
    return sum(_alert_send(pk, now) for pk in due.values_list("pk", flat=True))


def _alert_send(pk: int, now: datetime) -> bool:
    with transaction.atomic():
        breach = breaches_pending().select_for_update(skip_locked=True).filter(pk=pk).first()
        if breach is None:  # decided meanwhile, or being alerted by another worker
            return False
        remaining = breach.notification_due_at - now
        # The tightest alert whose time has come: it says all the looser ones would have.
        hours, field = next((h, f) for h, f in reversed(ALERTS) if remaining <= timedelta(hours=h))
        if getattr(breach, field) is not None:
            return False
        context = {
            "breach": breach,
            "hours": hours,
            "late": hours == 0,
            "hours_left": max(int(remaining.total_seconds() // 3600), 0),
            "url": f"{settings.SITE_URL}/admin/privacy/breach/{breach.pk}/change/",
        }
        if not staff_mail_send(
            template="admin/privacy/email/breach_alert",
            context=context,
            what=f"breach {pk} {'late' if hours == 0 else f'{hours} h'} alert",
        ):
            return False
        # Marked only now that it went out; looser alerts not yet sent are no longer due.
        done = {f: now for h, f in ALERTS if h >= hours and getattr(breach, f) is None}
        Breach.objects.filter(pk=pk).update(**done)
    return True
