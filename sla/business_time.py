"""Business-hours arithmetic on a `Calendar`: pure functions, no database.

A calendar is a plain frozen value (kept per process by `sla.calendars`). Every function walks
the days between two moments, never the minutes: a range of a year is ~366 steps. Local days
are cut in the calendar's time zone and every interval is turned into aware UTC datetimes
before any subtraction, so a DST change shortens or lengthens the day as the clock on the wall
does (an interval 01:00-04:00 lasts 2 h the night clocks go forward, 4 h when they go back).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from vacances_scolaires_france import (
    SchoolHolidayDates,
    UnsupportedYearException,
    UnsupportedZoneException,
)

DEFAULT_TIMEZONE = "Europe/Paris"
# The farthest a walk goes looking for open time: a calendar closed for longer (no hours at all,
# a closure of years) is "never open" rather than a loop that never ends.
HORIZON_DAYS = 3 * 366

Interval = tuple[time, time]  # an `end` of 00:00 means midnight, the end of the day


def _office_week() -> tuple[tuple[Interval, ...], ...]:
    day = ((time(9), time(18)),)
    return (day, day, day, day, day, (), ())


@dataclass(frozen=True)
class Calendar:
    """When a team is open. `week[0]` is Monday's intervals, sorted and not overlapping."""

    timezone: str = DEFAULT_TIMEZONE
    week: tuple[tuple[Interval, ...], ...] = field(default_factory=_office_week)
    public_holidays: bool = True
    alsace_moselle: bool = False
    school_zone: str = ""  # "", "A", "B" or "C": closed during that zone's school holidays
    closures: tuple[tuple[date, date], ...] = ()  # (first day, last day), both included

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)


DEFAULT_CALENDAR = Calendar()


class NeverOpen(ValueError):
    """The calendar has no open time within HORIZON_DAYS of the moment asked about."""


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=256)
def public_holidays(year: int, alsace_moselle: bool) -> dict[date, str]:
    """French public holidays of `year` (with Good Friday and 26 December in Alsace-Moselle)."""
    # The library names Moselle "57" and Alsace "6AE"; both keep the same two extra days.
    found = holidays.France(years=year, subdiv="57" if alsace_moselle else None)
    return dict(found.items())


@lru_cache(maxsize=1)
def _school_dates() -> SchoolHolidayDates:
    return SchoolHolidayDates()  # reads the library's CSV once per process


@lru_cache(maxsize=256)
def school_holidays(year: int, zone: str) -> frozenset[date]:
    """The days of `year` in school holidays for zone A, B or C (empty past the library's data)."""
    try:
        days = _school_dates().holidays_for_year_and_zone(year, zone)
    except (UnsupportedYearException, UnsupportedZoneException):
        return frozenset()
    return frozenset(days)


def closed_day(calendar: Calendar, day: date) -> bool:
    """Is the whole local `day` closed, whatever its weekday's hours?"""
    if calendar.public_holidays and day in public_holidays(day.year, calendar.alsace_moselle):
        return True
    if calendar.school_zone and day in school_holidays(day.year, calendar.school_zone):
        return True
    return any(first <= day <= last for first, last in calendar.closures)


def _moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def open_intervals(calendar: Calendar, day: date) -> list[tuple[datetime, datetime]]:
    """The local `day`'s open intervals as aware UTC datetimes (none on a closed day)."""
    hours = calendar.week[day.weekday()]
    if not hours or closed_day(calendar, day):
        return []
    zone = calendar.zone
    found = []
    for start, end in hours:
        begin = _moment(day, start, zone)
        finish = _moment(day + timedelta(days=1), time(0), zone) if end == time(0) else None
        finish = finish or _moment(day, end, zone)
        if finish > begin:
            found.append((begin, finish))
    return found


def _local_day(calendar: Calendar, at: datetime) -> date:
    return _aware(at).astimezone(calendar.zone).date()


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return at


def _days(calendar: Calendar, first: date, last: date | None = None) -> Iterator[date]:
    day = first
    stop = last if last is not None else first + timedelta(days=HORIZON_DAYS)
    while day <= stop:
        yield day
        day += timedelta(days=1)


def business_seconds_between(calendar: Calendar, start: datetime, end: datetime) -> int:
    """Open seconds between two moments (0 if `end` is not after `start`)."""
    if _aware(end) <= _aware(start):
        return 0
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta()
    for day in _days(calendar, _local_day(calendar, start), _local_day(calendar, end)):
        for begin, finish in open_intervals(calendar, day):
            lo, hi = max(begin, start), min(finish, end)
            if hi > lo:
                total += hi - lo
    return int(total.total_seconds())


def add_business_seconds(calendar: Calendar, start: datetime, seconds: int) -> datetime:
    """The moment `seconds` open seconds after `start` (a clock started out of hours begins to
    run at the next opening). Raises NeverOpen if the calendar stays closed for years."""
    # In UTC: adding to a Paris datetime would add wall-clock time across a DST change.
    at = _aware(start).astimezone(UTC)
    left = timedelta(seconds=max(int(seconds), 0))
    for day in _days(calendar, _local_day(calendar, at)):
        for begin, finish in open_intervals(calendar, day):
            if finish <= at:
                continue
            begin = max(begin, at)
            if not left:
                return begin.astimezone(start.tzinfo)
            if finish - begin >= left:
                return (begin + left).astimezone(start.tzinfo)
            left -= finish - begin
    raise NeverOpen


def is_open(calendar: Calendar, at: datetime) -> bool:
    """Is the team open at this moment?"""
    return any(
        begin <= at < finish for begin, finish in open_intervals(calendar, _local_day(calendar, at))
    )


def next_opening(calendar: Calendar, at: datetime) -> datetime | None:
    """`at` itself when open, else the next moment the team opens (None if never)."""
    try:
        return add_business_seconds(calendar, at, 0)
    except NeverOpen:
        return None
