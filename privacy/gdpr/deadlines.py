"""GDPR deadlines (art. 12.3, as the CNIL reads it): one month from receipt.

We take the earlier of "the same day next month" and "30 days later", so the promise holds
whichever reading a requester has in mind. A day that does not exist next month falls back to
the last day of that month (31 January → 28 or 29 February). An extension adds up to two
further months, and the requester must be told within the first month.
"""

import calendar
from datetime import date, datetime, timedelta

from django.utils import timezone


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
