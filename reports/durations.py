"""How long a reply or a resolution took, and whether it met the mailbox's goal.

The one place that knows about business hours: everything else asks these functions.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings


def workspace_zone(workspace_id: int) -> ZoneInfo:
    """The time zone days and hours are counted in (the service's own, for every workspace)."""
    return ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def duration_seconds(mailbox_id: int, start: datetime, end: datetime) -> int:
    """Seconds from `start` to `end` that count (wall-clock until business hours exist)."""
    return max(0, int((end - start).total_seconds()))


def within_goal(mailbox_id: int, kind: str, seconds: int | None) -> bool | None:
    """Whether `seconds` met the mailbox's `kind` goal ("first_reply" or "resolution");
    None when the mailbox has no goal (no reply-time goals exist yet)."""
    return None
