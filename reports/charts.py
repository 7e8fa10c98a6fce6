"""Where each mark of the report's SVG charts goes: coordinates computed here, drawn by
templates/reports/report.html (no markup is built in Python)."""

from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from reports.figures import Durations, Report

WIDTH, HEIGHT = 720, 220  # the volume chart's drawing area, in SVG units
LEFT, BOTTOM = 40, 24  # room for the axis labels
CELL = 26  # one hour of the heat map


@dataclass(frozen=True)
class Bar:
    x: float
    closed_x: float
    width: float
    received_y: float
    received_height: float
    closed_y: float
    closed_height: float
    label: str
    received: int
    closed: int
    show_label: bool


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    count: int
    level: int  # 0 (none) to 4 (busiest)
    hour: int


@dataclass(frozen=True)
class HeatRow:
    y: int
    name: str
    cells: list[Cell]
    total: int


@dataclass(frozen=True)
class AgentBar:
    y: int
    width: float
    name: str
    replies: int


def duration_text(seconds: float | None) -> str:
    """ "2 h 05 min", "45 min", or "—" when nothing was measured."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)s h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min") % {"minutes": minutes}


def share_text(durations: Durations) -> str:
    share = durations.share_within_goal
    return "—" if share is None else f"{round(share * 100)} %"


def volume_chart(report: Report) -> dict:
    buckets = report.buckets
    top = max([1, *(max(b.received, b.closed) for b in buckets)])
    slot = (WIDTH - LEFT) / max(1, len(buckets))
    bar = max(1.0, slot * 0.4)
    scale = (HEIGHT - BOTTOM - 10) / top
    every = max(1, len(buckets) // 8)  # about eight dates under the axis
    bars = []
    for i, b in enumerate(buckets):
        x = LEFT + i * slot + slot * 0.1
        rh, ch = b.received * scale, b.closed * scale
        bars.append(
            Bar(
                x=round(x, 1),
                closed_x=round(x + bar, 1),
                width=round(bar, 1),
                received_y=round(HEIGHT - BOTTOM - rh, 1),
                received_height=round(rh, 1),
                closed_y=round(HEIGHT - BOTTOM - ch, 1),
                closed_height=round(ch, 1),
                label=date_format(b.start, "SHORT_DATE_FORMAT"),
                received=b.received,
                closed=b.closed,
                show_label=i % every == 0,
            )
        )
    ticks = [
        Tick(y=round(HEIGHT - BOTTOM - value * scale, 1), value=value)
        for value in sorted({0, top // 2, top})
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "axis_y": HEIGHT - BOTTOM,
        "bars": bars,
        "ticks": ticks,
    }


def weekday_names() -> list[str]:
    return [
        pgettext("weekday", "Monday"),
        pgettext("weekday", "Tuesday"),
        pgettext("weekday", "Wednesday"),
        pgettext("weekday", "Thursday"),
        pgettext("weekday", "Friday"),
        pgettext("weekday", "Saturday"),
        pgettext("weekday", "Sunday"),
    ]


def heat_chart(report: Report) -> dict:
    top = max([0, *(n for row in report.heat for n in row)])
    rows = []
    for day, (name, counts) in enumerate(zip(weekday_names(), report.heat, strict=True)):
        cells = [
            Cell(
                x=90 + hour * CELL,
                y=day * CELL + 20,
                count=n,
                level=0 if not n else 1 + min(3, int(4 * n / (top + 1))),
                hour=hour,
            )
            for hour, n in enumerate(counts)
        ]
        rows.append(HeatRow(y=day * CELL + 20, name=name, cells=cells, total=sum(counts)))
    return {
        "width": 90 + 24 * CELL,
        "height": 7 * CELL + 20,
        "rows": rows,
        "hours": [(90 + h * CELL + CELL // 2, h) for h in range(0, 24, 2)],
        "cell": CELL - 2,
    }


def agents_chart(report: Report) -> dict:
    top = max([1, *(a.replies for a in report.agents)])
    bars = [
        AgentBar(
            y=i * 28,
            width=round(420 * a.replies / top, 1),
            name=a.name or _("Another mail client"),
            replies=a.replies,
        )
        for i, a in enumerate(report.agents)
    ]
    return {"bars": bars, "height": max(28, 28 * len(bars)), "width": 720}


def durations_chart(report: Report) -> dict:
    """Median and 90th percentile of both clocks as bars on one scale."""
    rows = [
        (_("First reply"), report.first_reply),
        (_("Resolution"), report.resolution),
    ]
    top = max([1.0, *(d.p90 or 0 for _name, d in rows), *(d.median or 0 for _name, d in rows)])
    bars = []
    for i, (name, d) in enumerate(rows):
        bars.append(
            {
                "name": name,
                "y": i * 60,
                "median_width": round(420 * (d.median or 0) / top, 1),
                "p90_width": round(420 * (d.p90 or 0) / top, 1),
                "median": duration_text(d.median),
                "p90": duration_text(d.p90),
            }
        )
    return {"bars": bars, "height": 120, "width": 720}
