"""A mailbox with reply-time goals on a known calendar, and a clock one can move."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Workspace
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Mailbox
from sla.models import BusinessCalendar, OpeningInterval, ReplyGoal

PARIS = ZoneInfo("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


class Now:
    def __init__(self, monkeypatch):
        self.at = paris(2026, 3, 13, 17, 30)
        monkeypatch.setattr("sla.clocks.clock_now", lambda: self.at)


@pytest.fixture
def now(monkeypatch) -> Now:
    return Now(monkeypatch)


def office_calendar(workspace: Workspace) -> BusinessCalendar:
    """Monday to Friday, 9:00-12:00 and 13:00-18:00 (a lunch break), no holiday."""
    calendar = BusinessCalendar.objects.create(workspace=workspace, public_holidays=False)
    for weekday in range(5):
        for start, end in ((time(9), time(12)), (time(13), time(18))):
            OpeningInterval.objects.create(
                workspace=workspace, calendar=calendar, weekday=weekday, start=start, end=end
            )
    return calendar


def goals_for(mailbox: Mailbox, **fields) -> ReplyGoal:
    fields = {"first_reply_minutes": 120, "resolution_minutes": 16 * 60, **fields}
    return ReplyGoal.objects.create(workspace_id=mailbox.workspace_id, mailbox=mailbox, **fields)


@pytest.fixture
def goal_mailbox(workspace, alice) -> Mailbox:
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    # Messages of any date are live mail, not history synced closed.
    Mailbox.objects.filter(pk=mailbox.pk).update(created_at=datetime(2020, 1, 1, tzinfo=PARIS))
    mailbox.refresh_from_db()
    office_calendar(workspace)
    goals_for(mailbox, late_recipient=alice)
    return mailbox
