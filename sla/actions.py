"""Writes of the business calendar and the reply goals (admins only; checked by the views).

Each save goes through a model `save()` or `delete()`, which bumps the workspace's directory
version (sla/apps.py): every process reads the calendars again on its next request.
"""

from django.db import transaction

from accounts.models import User, Workspace
from inbox.models import Mailbox
from sla.forms import CalendarSettings
from sla.models import BusinessCalendar, Closure, OpeningInterval, ReplyGoal


@transaction.atomic
def calendar_save(
    *, workspace: Workspace, settings: CalendarSettings, mailbox: Mailbox | None = None
) -> BusinessCalendar:
    """The workspace's calendar (no `mailbox`) or a mailbox's own, replaced by `settings`."""
    calendar, _created = BusinessCalendar.objects.update_or_create(
        workspace=workspace,
        mailbox=mailbox,
        defaults={
            "timezone": settings.timezone,
            "public_holidays": settings.public_holidays,
            "alsace_moselle": settings.alsace_moselle,
            "school_zone": settings.school_zone,
        },
    )
    OpeningInterval.objects.filter(calendar=calendar).delete()
    Closure.objects.filter(calendar=calendar).delete()
    OpeningInterval.objects.bulk_create(
        OpeningInterval(workspace=workspace, calendar=calendar, weekday=day, start=s, end=e)
        for day, intervals in enumerate(settings.week)
        for s, e in intervals
    )
    Closure.objects.bulk_create(
        Closure(workspace=workspace, calendar=calendar, first_day=first, last_day=last)
        for first, last in settings.closures
    )
    calendar.save()  # bulk writes send no signal: this one bumps the version after them
    return calendar


@transaction.atomic
def mailbox_calendar_remove(*, mailbox: Mailbox) -> None:
    """The mailbox follows its workspace's calendar again."""
    for calendar in BusinessCalendar.objects.filter(mailbox=mailbox):
        calendar.delete()


@transaction.atomic
def goal_save(
    *,
    mailbox: Mailbox,
    first_reply_minutes: int | None,
    resolution_minutes: int | None,
    at_risk_percent: int,
    late_recipient: User | None,
) -> ReplyGoal:
    """New clocks follow the new goal; running clocks keep the deadlines they were given."""
    goal, _created = ReplyGoal.objects.update_or_create(
        mailbox=mailbox,
        defaults={
            "workspace_id": mailbox.workspace_id,
            "first_reply_minutes": first_reply_minutes,
            "resolution_minutes": resolution_minutes,
            "at_risk_percent": at_risk_percent,
            "late_recipient": late_recipient,
        },
    )
    return goal
