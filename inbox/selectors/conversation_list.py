"""The conversation lists' queries."""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone


def not_snoozed(now: datetime | None = None):
    """Filter for every view but "Snoozed" (a time just passed counts as awake already)."""
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now or timezone.now())
