"""The business-hours arithmetic, pinned on hand-made cases (Europe/Paris unless said)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla import business_time
from sla.business_time import (
    Calendar,
    NeverOpen,
    add_business_seconds,
    business_seconds_between,
    is_open,
    next_opening,
)

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3600
OFFICE = Calendar()  # Monday-Friday 9:00-18:00, French public holidays closed
ALSACE = Calendar(alsace_moselle=True)
SCHOOL_WEEK = tuple(
    [((time(8, 30), time(12)), (time(13, 30), time(17)))] * 5 + [(), ()]
)  # a school's office, closed for lunch
SCHOOL = Calendar(week=SCHOOL_WEEK)
ALWAYS = Calendar(week=(((time(0), time(0)),),) * 7, public_holidays=False)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_friday_evening_message_answered_monday_morning():
    received = paris(2026, 3, 13, 17, 30)  # a Friday
    answered = paris(2026, 3, 16, 9, 30)  # the Monday after
    assert business_seconds_between(OFFICE, received, answered) == HOUR
    assert add_business_seconds(OFFICE, received, HOUR) == answered


def test_message_received_on_saturday_counts_from_monday_opening():
    received = paris(2026, 3, 14, 10)
    assert business_seconds_between(OFFICE, received, paris(2026, 3, 16, 9, 15)) == 15 * 60
    assert next_opening(OFFICE, received) == paris(2026, 3, 16, 9)
    assert add_business_seconds(OFFICE, received, 2 * HOUR) == paris(2026, 3, 16, 11)


def test_quatorze_juillet_is_closed():
    # 14 July 2026 is a Tuesday: Monday 17:00 to Wednesday 10:00 is two open hours.
    assert business_seconds_between(OFFICE, paris(2026, 7, 13, 17), paris(2026, 7, 15, 10)) == (
        2 * HOUR
    )
    assert not is_open(OFFICE, paris(2026, 7, 14, 11))
    assert is_open(Calendar(public_holidays=False), paris(2026, 7, 14, 11))


def test_lundi_de_paques_and_good_friday_only_in_alsace_moselle():
    # Easter 2026 is 5 April: Good Friday 3 April, Easter Monday 6 April.
    start, end = paris(2026, 4, 3, 17), paris(2026, 4, 7, 10)
    assert business_seconds_between(OFFICE, start, end) == 2 * HOUR
    assert business_seconds_between(ALSACE, start, end) == HOUR  # Good Friday closed too
    assert not is_open(OFFICE, paris(2026, 4, 6, 10))


def test_saint_etienne_only_in_alsace_moselle():
    # 24 December 2025 is a Wednesday; 26 December a Friday, closed only in Alsace-Moselle.
    start, end = paris(2025, 12, 24, 17), paris(2025, 12, 29, 10)
    assert business_seconds_between(OFFICE, start, end) == 11 * HOUR
    assert business_seconds_between(ALSACE, start, end) == 2 * HOUR
    assert is_open(OFFICE, paris(2025, 12, 26, 10))
    assert not is_open(ALSACE, paris(2025, 12, 26, 10))


def test_lunch_break():
    start = paris(2026, 3, 10, 11, 30)
    assert business_seconds_between(SCHOOL, start, paris(2026, 3, 10, 14)) == HOUR
    assert add_business_seconds(SCHOOL, start, HOUR) == paris(2026, 3, 10, 14)
    # Exactly at the break: the clock resumes at 13:30, not at noon.
    assert add_business_seconds(SCHOOL, start, 30 * 60) == paris(2026, 3, 10, 12)
    assert add_business_seconds(SCHOOL, start, 30 * 60 + 1) == paris(2026, 3, 10, 13, 30, 1)
    assert not is_open(SCHOOL, paris(2026, 3, 10, 12, 30))
    assert is_open(SCHOOL, paris(2026, 3, 10, 13, 30))
    assert not is_open(SCHOOL, paris(2026, 3, 10, 17))  # the end is excluded


def test_school_holidays_by_zone():
    # Winter holidays 2026: zone A from Saturday 7 to Sunday 22 February, zone C from 21 Feb.
    friday = paris(2026, 2, 6, 17)
    zone_a = Calendar(school_zone="A")
    zone_c = Calendar(school_zone="C")
    assert add_business_seconds(zone_a, friday, 2 * HOUR) == paris(2026, 2, 23, 10)
    assert add_business_seconds(zone_c, friday, 2 * HOUR) == paris(2026, 2, 9, 10)
    assert not is_open(zone_a, paris(2026, 2, 16, 10))
    assert is_open(zone_c, paris(2026, 2, 16, 10))
    assert not is_open(zone_c, paris(2026, 3, 2, 10))


def test_school_holidays_past_the_library_data_close_nothing():
    assert business_time.school_holidays(2090, "A") == frozenset()
    assert is_open(Calendar(school_zone="A"), paris(2090, 2, 14, 10))  # a Tuesday


def test_custom_closure():
    summer = Calendar(closures=((date(2026, 8, 1), date(2026, 8, 31)),))
    # Friday 31 July 17:30 plus an hour: 30 min that evening, the rest on Tuesday 1 September.
    assert add_business_seconds(summer, paris(2026, 7, 31, 17, 30), HOUR) == paris(
        2026, 9, 1, 9, 30
    )
    assert not is_open(summer, paris(2026, 8, 31, 10))


def test_spring_forward_day_is_23_hours_long():
    # Clocks go from 2:00 to 3:00 on Sunday 29 March 2026.
    assert business_seconds_between(ALWAYS, paris(2026, 3, 29), paris(2026, 3, 30)) == 23 * HOUR
    assert add_business_seconds(ALWAYS, paris(2026, 3, 29, 1), HOUR) == paris(2026, 3, 29, 3)


def test_fall_back_day_is_25_hours_long():
    assert business_seconds_between(ALWAYS, paris(2026, 10, 25), paris(2026, 10, 26)) == 25 * HOUR


def test_office_hours_across_a_dst_weekend_keep_nine_hours():
    # Friday 27 March 17:00 (UTC+1) to Monday 30 March 10:00 (UTC+2).
    assert business_seconds_between(OFFICE, paris(2026, 3, 27, 17), paris(2026, 3, 30, 10)) == (
        2 * HOUR
    )
    monday = paris(2026, 3, 30, 9)
    assert monday.astimezone(UTC).hour == 7
    assert next_opening(OFFICE, paris(2026, 3, 28, 12)) == monday


def test_utc_inputs_give_the_same_answers():
    received = paris(2026, 3, 13, 17, 30).astimezone(UTC)
    answered = paris(2026, 3, 16, 9, 30).astimezone(UTC)
    assert business_seconds_between(OFFICE, received, answered) == HOUR
    assert add_business_seconds(OFFICE, received, HOUR) == answered
    assert add_business_seconds(OFFICE, received, HOUR).tzinfo == UTC


def test_four_weeks_of_february():
    # No holiday in February 2026 (zone-free calendar): 20 days of 9 hours.
    assert business_seconds_between(OFFICE, paris(2026, 2, 2, 9), paris(2026, 3, 2, 9)) == (
        180 * HOUR
    )


def test_adding_then_measuring_gives_back_the_seconds():
    start = paris(2025, 12, 1, 8)
    for calendar in (OFFICE, ALSACE, SCHOOL, Calendar(school_zone="B")):
        for seconds in (1, 59, HOUR, 7 * HOUR + 13, 40 * HOUR, 500 * HOUR):
            end = add_business_seconds(calendar, start, seconds)
            assert business_seconds_between(calendar, start, end) == seconds


def test_long_ranges_walk_days_not_minutes(monkeypatch):
    seen = []
    real = business_time.open_intervals

    def counting(calendar, day):
        seen.append(day)
        return real(calendar, day)

    monkeypatch.setattr(business_time, "open_intervals", counting)
    total = business_seconds_between(OFFICE, paris(2020, 1, 1), paris(2030, 1, 1))
    assert len(seen) == (date(2030, 1, 1) - date(2020, 1, 1)).days + 1
    # About 251 open days a year of 9 hours.
    assert 2480 * 9 * HOUR < total < 2540 * 9 * HOUR


def test_a_calendar_that_never_opens():
    closed = Calendar(week=((),) * 7)
    with pytest.raises(NeverOpen):
        add_business_seconds(closed, paris(2026, 3, 10, 10), 60)
    assert next_opening(closed, paris(2026, 3, 10, 10)) is None
    assert business_seconds_between(closed, paris(2026, 1, 1), paris(2027, 1, 1)) == 0


def test_end_before_start_and_naive_datetimes():
    assert business_seconds_between(OFFICE, paris(2026, 3, 11), paris(2026, 3, 10)) == 0
    with pytest.raises(ValueError):
        business_seconds_between(OFFICE, datetime(2026, 3, 10), datetime(2026, 3, 11))
    with pytest.raises(ValueError):
        add_business_seconds(OFFICE, datetime(2026, 3, 10), 60)


def test_another_time_zone():
    reunion = Calendar(timezone="Indian/Reunion", public_holidays=False)
    at = datetime(2026, 3, 10, 9, tzinfo=ZoneInfo("Indian/Reunion"))
    assert is_open(reunion, at)
    assert not is_open(reunion, at - timedelta(minutes=1))
    assert not is_open(OFFICE, at)  # 6:00 in Paris
