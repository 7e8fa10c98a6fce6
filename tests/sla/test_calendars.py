"""Which calendar and goal apply to a mailbox, and that each process keeps them until a change."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Workspace
from inbox.mail.mailboxes import mailbox_create
from sla.business_time import DEFAULT_CALENDAR
from sla.calendars import (
    calendar_for_mailbox,
    expected_reply_at,
    goal_for_mailbox,
    mailbox_is_open,
)
from sla.models import BusinessCalendar, Closure, OpeningInterval, ReplyGoal

PARIS = ZoneInfo("Europe/Paris")


def _fresh(mailbox):
    mailbox.workspace = Workspace.objects.get(pk=mailbox.workspace_id)
    return mailbox


def test_default_workspace_and_mailbox_calendars(workspace):
    office = mailbox_create(workspace=workspace, address="secretariat@lycee-verne.fr")
    school = mailbox_create(workspace=workspace, address="vie-scolaire@lycee-verne.fr")
    assert calendar_for_mailbox(_fresh(office)) == DEFAULT_CALENDAR

    default = BusinessCalendar.objects.create(workspace=workspace, alsace_moselle=True)
    OpeningInterval.objects.create(
        workspace=workspace, calendar=default, weekday=0, start=time(8), end=time(12)
    )
    own = BusinessCalendar.objects.create(workspace=workspace, mailbox=school, school_zone="B")
    for start, end in ((time(13, 30), time(17)), (time(8, 30), time(12))):
        OpeningInterval.objects.create(
            workspace=workspace, calendar=own, weekday=2, start=start, end=end
        )
    Closure.objects.create(
        workspace=workspace,
        calendar=own,
        first_day=datetime(2026, 8, 1).date(),
        last_day=datetime(2026, 8, 20).date(),
    )

    office_calendar = calendar_for_mailbox(_fresh(office))
    assert office_calendar.alsace_moselle
    assert office_calendar.week[0] == ((time(8), time(12)),)
    assert office_calendar.week[2] == ()
    school_calendar = calendar_for_mailbox(_fresh(school))
    assert school_calendar.school_zone == "B"
    assert school_calendar.week[2] == ((time(8, 30), time(12)), (time(13, 30), time(17)))
    assert len(school_calendar.closures) == 1
    assert mailbox_is_open(_fresh(school), datetime(2026, 3, 11, 9, tzinfo=PARIS))
    assert not mailbox_is_open(_fresh(office), datetime(2026, 3, 11, 9, tzinfo=PARIS))


def test_kept_per_process_until_a_change(workspace):
    mailbox = mailbox_create(workspace=workspace, address="secretariat@lycee-verne.fr")
    calendar_for_mailbox(_fresh(mailbox))
    goal_for_mailbox(_fresh(mailbox))
    fresh = _fresh(mailbox)
    with CaptureQueriesContext(connection) as queries:
        calendar_for_mailbox(fresh)
        goal_for_mailbox(fresh)
    assert len(queries) == 0
    ReplyGoal.objects.create(workspace=workspace, mailbox=mailbox, first_reply_minutes=120)
    assert goal_for_mailbox(_fresh(mailbox)).first_reply == 7200


def test_expected_reply_at(workspace):
    mailbox = mailbox_create(workspace=workspace, address="secretariat@lycee-verne.fr")
    friday_evening = datetime(2026, 3, 13, 17, 30, tzinfo=PARIS)
    assert expected_reply_at(_fresh(mailbox), friday_evening) is None  # no goal
    ReplyGoal.objects.create(workspace=workspace, mailbox=mailbox, first_reply_minutes=240)
    assert expected_reply_at(_fresh(mailbox), friday_evening) == datetime(
        2026, 3, 16, 12, 30, tzinfo=PARIS
    )
