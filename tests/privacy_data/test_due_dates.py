"""The deadline of a GDPR request: the earlier of one calendar month and 30 days, around
February and month ends, and the extension rules."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from privacy.gdpr.deadlines import add_months, due_date
from privacy.gdpr.requests import gdpr_request_create, gdpr_request_extend
from privacy.models import EventKind, GdprRequest, Right

PARIS = ZoneInfo("Europe/Paris")


def at(y, m, d, h=10, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # The month is shorter than 30 days: 31 January → end of February.
        (at(2027, 1, 31), at(2027, 2, 28)),
        (at(2028, 1, 31), at(2028, 2, 29)),  # leap year
        (at(2027, 1, 30), at(2027, 2, 28)),
        (at(2027, 1, 29), at(2027, 2, 28)),
        (at(2028, 1, 29), at(2028, 2, 28)),  # 30 days come first here
        # A 31-day month: 30 days come first.
        (at(2027, 1, 15), at(2027, 2, 14)),
        (at(2027, 3, 1), at(2027, 3, 31)),
        (at(2026, 12, 31), at(2027, 1, 30)),
        # February itself: one month (28 March) comes before 30 days (30 March).
        (at(2027, 2, 28), at(2027, 3, 28)),
        (at(2028, 2, 29), at(2028, 3, 29)),
        (at(2027, 2, 1), at(2027, 3, 1)),
        # A 30-day month: both readings agree.
        (at(2027, 3, 31), at(2027, 4, 30)),
        (at(2027, 4, 30), at(2027, 5, 30)),
    ],
)
def test_due_date_is_the_earlier_of_a_month_and_30_days(received, due):
    assert due_date(received) == due


def test_due_date_keeps_the_local_hour_across_a_daylight_saving_change():
    # The clocks go forward on 28 March 2027: the deadline is still at 10:00 in Paris.
    due = due_date(at(2027, 3, 10))
    assert due.astimezone(PARIS).hour == 10
    assert due == at(2027, 4, 9)


def test_add_months_clamps_to_the_last_day():
    from datetime import date

    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


@pytest.fixture
def request_jan31(db, staff):
    return gdpr_request_create(
        right=Right.ACCESS,
        email="Jean.Dupont@Example.fr",
        name="Jean Dupont",
        received_at=at(2027, 1, 31),
        actor=staff,
    )


def test_extension_adds_months_to_the_first_deadline(request_jan31, staff, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(2027, 2, 20))
    gdpr_request_extend(
        request=request_jan31, months=2, told_at=at(2027, 2, 15), reason="Complexité", actor=staff
    )
    request = GdprRequest.objects.get(pk=request_jan31.pk)
    assert request.due_at == at(2027, 4, 28)
    assert request.extension_months == 2
    assert request.extension_told_at == at(2027, 2, 15)
    kinds = list(request.events.values_list("kind", flat=True))
    assert kinds == [EventKind.RECEIVED, EventKind.EXTENDED]


def test_extension_told_after_the_first_month_is_refused(request_jan31, staff, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(2027, 3, 5))
    with pytest.raises(ValidationError, match="premier mois"):
        gdpr_request_extend(
            request=request_jan31,
            months=1,
            told_at=at(2027, 2, 28) + timedelta(minutes=1),
            reason="Trop tard",
            actor=staff,
        )
    request = GdprRequest.objects.get(pk=request_jan31.pk)
    assert (request.extension_months, request.due_at) == (0, at(2027, 2, 28))
    assert request.events.count() == 1  # nothing recorded


def test_extension_beyond_two_months_is_refused(request_jan31, staff, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(2027, 2, 20))
    gdpr_request_extend(
        request=request_jan31, months=1, told_at=at(2027, 2, 10), reason="Volume", actor=staff
    )
    with pytest.raises(ValidationError, match="deux mois"):
        gdpr_request_extend(
            request=request_jan31, months=2, told_at=at(2027, 2, 11), reason="Encore", actor=staff
        )
    request = GdprRequest.objects.get(pk=request_jan31.pk)
    assert request.extension_months == 1
    assert request.due_at == at(2027, 3, 28)
