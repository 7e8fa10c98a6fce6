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


def svg_number(value: float) -> str:
    """A coordinate as SVG reads it (a dot, never the French comma of localized numbers)."""
    return f"{value:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class Bar:
    # Coordinates as text: a page of 365 bars renders faster without a filter per number.
    x: str
    closed_x: str
    width: str
    received_y: str
    received_height: str
    closed_y: str
    closed_height: str
    label: str
    received: str
    closed: str
    show_label: bool


@dataclass(frozen=True)
class Tick:
    y: str
    value: int


@dataclass(frozen=True)
class Cell:
    x: str
    y: str
    count: str
    level: str  # 0 (none) to 4 (busiest)
    hour: str


@dataclass(frozen=True)
class HeatRow:
    y: int
    name: str
    cells: list[Cell]
    total: int


@dataclass(frozen=True)
class AgentBar:
    y: int
    width: str
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
                x=svg_number(x),
                closed_x=svg_number(x + bar),
                width=svg_number(bar),
                received_y=svg_number(HEIGHT - BOTTOM - rh),
                received_height=svg_number(rh),
                closed_y=svg_number(HEIGHT - BOTTOM - ch),
                closed_height=svg_number(ch),
                # Only the dates under the axis are written out (formatting is not free).
                label=date_format(b.start, "SHORT_DATE_FORMAT") if i % every == 0 else "",
                received=str(b.received),
                closed=str(b.closed),
                show_label=i % every == 0,
            )
        )
    ticks = [
        Tick(y=svg_number(HEIGHT - BOTTOM - value * scale), value=value)
        for value in sorted({0, top // 2, top})
    ]
    # Each series is one path of rectangles (its data: coordinates only), not a node per bar: a
    # year per day stays a light page. The numbers are in the table beside it.
    return {
        "received_path": " ".join(
            f"M{b.x} {b.received_y}h{b.width}v{b.received_height}h-{b.width}z"
            for b in bars
            if b.received != "0"
        ),
        "closed_path": " ".join(
            f"M{b.closed_x} {b.closed_y}h{b.width}v{b.closed_height}h-{b.width}z"
            for b in bars
            if b.closed != "0"
        ),
        "labels": [b for b in bars if b.show_label],
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "axis_y": HEIGHT - BOTTOM,
        "label_y": HEIGHT - 6,
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
                x=str(90 + hour * CELL),
                y=str(day * CELL + 20),
                count=str(n),
                level=str(0 if not n else 1 + min(3, int(4 * n / (top + 1)))),
                hour=str(hour),
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
            width=svg_number(420 * a.replies / top),
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
                "median_width": svg_number(420 * (d.median or 0) / top),
                "p90_width": svg_number(420 * (d.p90 or 0) / top),
                "median": duration_text(d.median),
                "p90": duration_text(d.p90),
            }
        )
    return {"bars": bars, "height": 120, "width": 720}
