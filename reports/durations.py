"""How long a reply or a resolution took, and whether it met the mailbox's goal.

The one place that knows about business hours (the reply-time goals wing, sla/): everything
else asks these functions.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from accounts.models import Workspace
from inbox.models import Mailbox
from sla.business_time import business_seconds_between
from sla.calendars import calendar_for_mailbox, calendar_for_workspace, goal_for_mailbox


def workspace_zone(workspace_id: int) -> ZoneInfo:
    """The time zone of the workspace's calendar: days and hours are counted in it."""
    return zone_of(Workspace.objects.get(pk=workspace_id))


def zone_of(workspace: Workspace) -> ZoneInfo:
    """`workspace_zone` for a workspace already loaded (with a mailbox, say)."""
    return calendar_for_workspace(workspace).zone


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def duration_seconds(mailbox: Mailbox, start: datetime, end: datetime) -> int:
    """Business seconds from `start` to `end` in the mailbox's calendar."""
    return business_seconds_between(calendar_for_mailbox(mailbox), start, end)


def within_goal(mailbox: Mailbox, kind: str, seconds: int | None) -> bool | None:
    """Whether `seconds` met the mailbox's `kind` goal ("first_reply" or "resolution");
    None when the mailbox has no such goal, or nothing was measured."""
    goal = getattr(goal_for_mailbox(mailbox), kind)
    if goal is None or seconds is None:
        return None
    return seconds <= goal
