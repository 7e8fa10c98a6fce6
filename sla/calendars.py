"""The calendar and goals that apply to a mailbox, kept per process.

A mailbox with its own calendar uses it; any other uses its workspace's, or the office week
(Monday to Friday, 9:00-18:00, Europe/Paris, public holidays closed) when the workspace has
none. Kept through `accounts.workspace_lists.kept()`: any change to a calendar, an interval, a
closure or a goal bumps the workspace's directory version (sla/apps.py).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts import workspace_lists
from accounts.models import Workspace
from inbox.models import Mailbox
from sla.business_time import (
    DEFAULT_CALENDAR,
    Calendar,
    NeverOpen,
    add_business_seconds,
    business_seconds_between,
    is_open,
)
from sla.models import BusinessCalendar, Closure, OpeningInterval, ReplyGoal


@dataclass(frozen=True)
class Goal:
    """A mailbox's goals in business seconds (None: no goal)."""

    first_reply: int | None = None
    resolution: int | None = None
    at_risk_percent: int = 80
    late_recipient_id: int | None = None


NO_GOAL = Goal()


@dataclass(frozen=True)
class WorkspaceCalendars:
    default: Calendar
    by_mailbox: dict[int, Calendar]


def calendar_from_rows(
    row: BusinessCalendar, intervals: list[OpeningInterval], closures: list[Closure]
) -> Calendar:
    week: list[list[tuple]] = [[] for _ in range(7)]
    for interval in sorted(intervals, key=lambda i: (i.weekday, i.start)):
        week[interval.weekday].append((interval.start, interval.end))
    return Calendar(
        timezone=row.timezone,
        week=tuple(tuple(day) for day in week),
        public_holidays=row.public_holidays,
        alsace_moselle=row.alsace_moselle,
        school_zone=row.school_zone,
        closures=tuple(sorted((c.first_day, c.last_day) for c in closures)),
    )


def load_calendars(workspace_id: int) -> WorkspaceCalendars:
    """Three queries for every calendar of a workspace."""
    rows = list(BusinessCalendar.objects.filter(workspace_id=workspace_id))
    intervals: dict[int, list] = {row.pk: [] for row in rows}
    closures: dict[int, list] = {row.pk: [] for row in rows}
    for interval in OpeningInterval.objects.filter(workspace_id=workspace_id):
        intervals.setdefault(interval.calendar_id, []).append(interval)
    for closure in Closure.objects.filter(workspace_id=workspace_id):
        closures.setdefault(closure.calendar_id, []).append(closure)
    default = DEFAULT_CALENDAR
    by_mailbox = {}
    for row in rows:
        calendar = calendar_from_rows(row, intervals[row.pk], closures[row.pk])
        if row.mailbox_id is None:
            default = calendar
        else:
            by_mailbox[row.mailbox_id] = calendar
    return WorkspaceCalendars(default, by_mailbox)


def load_goals(workspace_id: int) -> dict[int, Goal]:
    """The goals of a workspace's mailboxes, by mailbox id (one query)."""
    return {
        g.mailbox_id: Goal(
            first_reply=g.first_reply_minutes * 60 if g.first_reply_minutes else None,
            resolution=g.resolution_minutes * 60 if g.resolution_minutes else None,
            at_risk_percent=g.at_risk_percent,
            late_recipient_id=g.late_recipient_id,
        )
        for g in ReplyGoal.objects.filter(workspace_id=workspace_id)
    }


def workspace_calendars(workspace: Workspace) -> WorkspaceCalendars:
    return workspace_lists.kept(workspace, "sla-calendars", lambda: load_calendars(workspace.pk))


def workspace_goals(workspace: Workspace) -> dict[int, Goal]:
    """Kept apart from the calendars: pages that only ask "any goal here?" (the list badges)
    load one query in a cold process, not four."""
    return workspace_lists.kept(workspace, "sla-goals", lambda: load_goals(workspace.pk))


def calendar_for_workspace(workspace: Workspace) -> Calendar:
    return workspace_calendars(workspace).default


def calendar_for_mailbox(mailbox: Mailbox) -> Calendar:
    """The mailbox's own calendar, or its workspace's (no query once kept by this process)."""
    kept = workspace_calendars(mailbox.workspace)
    return kept.by_mailbox.get(mailbox.pk, kept.default)


def goal_for_mailbox(mailbox: Mailbox) -> Goal:
    return workspace_goals(mailbox.workspace).get(mailbox.pk, NO_GOAL)


def expected_reply_at(mailbox: Mailbox, received_at: datetime) -> datetime | None:
    """When a message received then should have its first reply, by the mailbox's goal in its
    business hours (None: the mailbox has no first-reply goal, or never opens)."""
    goal = goal_for_mailbox(mailbox)
    if goal.first_reply is None:
        return None
    try:
        return add_business_seconds(calendar_for_mailbox(mailbox), received_at, goal.first_reply)
    except NeverOpen:
        return None


def mailbox_is_open(mailbox: Mailbox, at: datetime) -> bool:
    """Is the mailbox's team open at `at` (the "out of hours" acknowledgement asks)?"""
    return is_open(calendar_for_mailbox(mailbox), at)


def business_duration(mailbox: Mailbox, start: datetime, end: datetime) -> timedelta:
    """The business time between two moments in the mailbox's calendar (reports use it)."""
    return timedelta(seconds=business_seconds_between(calendar_for_mailbox(mailbox), start, end))
