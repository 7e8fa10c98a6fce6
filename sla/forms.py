"""The business calendar and reply-goal forms. Hours are typed as people write them
("09:00-12:00, 13:30-17:30"); anything else is a form error, never a 500."""

import re
from dataclasses import dataclass
from datetime import date, time
from functools import cache
from itertools import pairwise
from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sla.business_time import DEFAULT_TIMEZONE
from sla.models import SchoolZone, Weekday

DAYS = [(w.value, w.name.lower(), w.label) for w in Weekday]
MAX_INTERVALS_A_DAY = 6
MAX_CLOSURES = 100
MAX_CLOSURE_DAYS = 366
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_GOAL_MINUTES = 60 * 24 * 90  # 90 days of business time
_INTERVAL = re.compile(r"^(\d{1,2})[:h](\d{2})\s*[-–]\s*(\d{1,2})[:h](\d{2})$", re.ASCII)
_CLOSURE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:\s*(?:[-–]|au|to)\s*(\d{4}-\d{2}-\d{2}))?$", re.ASCII
)


@cache
def time_zones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


def hours_parse(text: str) -> list[tuple[time, time]]:
    """ "09:00-12:00, 13:30-17:30" → intervals, sorted, not overlapping; "" → closed.
    "24:00" ends a day at midnight (stored as 00:00)."""
    found = []
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        match = _INTERVAL.match(part)
        if match is None:
            raise ValidationError(_("Write hours as 09:00-12:00, 13:30-17:30."))
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise ValidationError(_("%(hours)s is not a time of day.") % {"hours": part})
        start, end = time(h1, m1), time(0) if h2 == 24 else time(h2, m2)
        if end != time(0) and end <= start:
            raise ValidationError(_("%(hours)s ends before it starts.") % {"hours": part})
        found.append((start, end))
    if len(found) > MAX_INTERVALS_A_DAY:
        raise ValidationError(_("At most six opening periods a day."))
    found.sort()
    for (_s1, end), (start, _e2) in pairwise(found):
        if end == time(0) or start < end:
            raise ValidationError(_("Opening periods of a day must not overlap."))
    return found


def hours_text(intervals) -> str:
    def shown(t: time, *, end: bool) -> str:
        return "24:00" if end and t == time(0) else t.strftime("%H:%M")

    return ", ".join(f"{shown(s, end=False)}-{shown(e, end=True)}" for s, e in intervals)


def closures_parse(text: str) -> list[tuple[date, date]]:
    """One closure a line: "2026-08-01 - 2026-08-20", or a single day "2026-05-15"."""
    found = []
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        match = _CLOSURE.match(line)
        try:
            first = date.fromisoformat(match.group(1)) if match else None
            last = date.fromisoformat(match.group(2)) if match and match.group(2) else first
        except ValueError:
            first = last = None
        if first is None or last is None:
            raise ValidationError(_("Write closures as 2026-08-01 - 2026-08-20, one a line."))
        if not (FIRST_YEAR <= first.year <= LAST_YEAR and FIRST_YEAR <= last.year <= LAST_YEAR):
            raise ValidationError(_("%(line)s is too far in time.") % {"line": line})
        if last < first:
            raise ValidationError(_("%(line)s ends before it starts.") % {"line": line})
        if (last - first).days >= MAX_CLOSURE_DAYS:
            raise ValidationError(_("A closure lasts a year at most."))
        found.append((first, last))
    if len(found) > MAX_CLOSURES:
        raise ValidationError(_("At most 100 closures."))
    return sorted(found)


def closures_text(closures) -> str:
    return "\n".join(
        first.isoformat() if first == last else f"{first.isoformat()} - {last.isoformat()}"
        for first, last in closures
    )


@dataclass(frozen=True)
class CalendarSettings:
    timezone: str
    public_holidays: bool
    alsace_moselle: bool
    school_zone: str
    week: list[list[tuple[time, time]]]
    closures: list[tuple[date, date]]


class CalendarForm(forms.Form):
    timezone = forms.ChoiceField(label=gettext_lazy("Time zone"), initial=DEFAULT_TIMEZONE)
    public_holidays = forms.BooleanField(
        label=gettext_lazy("Closed on French public holidays"), required=False, initial=True
    )
    alsace_moselle = forms.BooleanField(
        label=gettext_lazy("Alsace-Moselle: also closed on Good Friday and 26 December"),
        required=False,
    )
    school_zone = forms.ChoiceField(
        label=gettext_lazy("School holidays"), choices=SchoolZone.choices, required=False
    )
    closures = forms.CharField(
        label=gettext_lazy("Closures (one a line: 2026-08-01 - 2026-08-20)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = time_zones()
        for _value, name, label in DAYS:
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                help_text=_("Empty: closed all day."),
            )

    def day_fields(self):
        return [self[name] for _value, name, _label in DAYS]

    def clean(self):
        data = super().clean()
        for _value, name, _label in DAYS:
            if name in data:
                try:
                    data[name] = hours_parse(data[name])
                except ValidationError as error:
                    self.add_error(name, error)
        if "closures" in data:
            try:
                data["closures"] = closures_parse(data["closures"])
            except ValidationError as error:
                self.add_error("closures", error)
        return data

    def settings(self) -> CalendarSettings:
        data = self.cleaned_data
        return CalendarSettings(
            timezone=data["timezone"],
            public_holidays=data["public_holidays"],
            alsace_moselle=data["alsace_moselle"],
            school_zone=data.get("school_zone") or "",
            week=[data[name] for _value, name, _label in DAYS],
            closures=data["closures"],
        )

    @staticmethod
    def initial_from(calendar) -> dict:
        """The form's initial values from a `business_time.Calendar`."""
        initial = {
            "timezone": calendar.timezone,
            "public_holidays": calendar.public_holidays,
            "alsace_moselle": calendar.alsace_moselle,
            "school_zone": calendar.school_zone,
            "closures": closures_text(calendar.closures),
        }
        for value, name, _label in DAYS:
            initial[name] = hours_text(calendar.week[value])
        return initial


class MailboxCalendarForm(CalendarForm):
    own_calendar = forms.BooleanField(
        label=gettext_lazy("This mailbox has its own business hours"), required=False
    )
    field_order = ["own_calendar"]


class GoalForm(forms.Form):
    first_reply_minutes = forms.IntegerField(
        label=gettext_lazy("First reply within (business minutes)"),
        required=False,
        min_value=1,
        max_value=MAX_GOAL_MINUTES,
    )
    resolution_minutes = forms.IntegerField(
        label=gettext_lazy("Resolution within (business minutes)"),
        required=False,
        min_value=1,
        max_value=MAX_GOAL_MINUTES,
    )
    at_risk_percent = forms.IntegerField(
        label=gettext_lazy("At risk once this share of the goal is used (%)"),
        min_value=1,
        max_value=99,
        initial=80,
    )
    late_recipient = forms.TypedChoiceField(
        label=gettext_lazy("Who hears of late conversations"),
        required=False,
        coerce=int,
        empty_value=None,
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Only the workspace's members can be chosen (`accounts.workspace_lists.members`).
        self.fields["late_recipient"].choices = [("", _("Nobody"))] + [
            (str(m.user_id), m.name) for m in members
        ]
