"""The report as tables: what the page's tables show, what each CSV export holds and what
`manage.py report` prints. One source, so the three cannot disagree."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from inbox.models import SatisfactionLevel
from reports.charts import weekday_names
from reports.figures import Durations, Report

SECTIONS = {
    "volume": gettext_lazy("Conversations received and closed"),
    "times": gettext_lazy("Reply and resolution times"),
    "agents": gettext_lazy("Replies per agent"),
    "hours": gettext_lazy("Busiest hours"),
    "satisfaction": gettext_lazy("Satisfaction"),
}


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    header: list[str]
    rows: list[list]

    def display(self) -> list[tuple[str, list[str]]]:
        """The rows as the page shows them: the row's name, then its cells as text ("—" for
        a figure that does not exist). Text, not markup: the template escapes it."""
        return [(str(row[0]), [cell_text(v) for v in row[1:]]) for row in self.rows]


def minutes(seconds: float | None) -> int | str:
    return "" if seconds is None else round(seconds / 60)


def share(durations: Durations) -> int | str:
    value = durations.share_within_goal
    return "" if value is None else round(value * 100)


def report_tables(report: Report) -> list[Table]:
    tables = [
        Table(
            "volume",
            str(SECTIONS["volume"]),
            [
                _("Week of") if report.scope.by_week else _("Day"),
                pgettext("report", "Received"),
                pgettext("report", "Closed"),
            ],
            [[b.start.isoformat(), b.received, b.closed] for b in report.buckets]
            + [[pgettext("report", "Total"), report.received, report.closed]],
        ),
        Table(
            "times",
            str(SECTIONS["times"]),
            [
                _("Measure"),
                _("Conversations"),
                _("Median (minutes)"),
                _("90th percentile (minutes)"),
                _("Within goal (%)"),
            ],
            [
                [name, d.count, minutes(d.median), minutes(d.p90), share(d)]
                for name, d in (
                    (_("First reply"), report.first_reply),
                    (_("Resolution"), report.resolution),
                )
            ],
        ),
        Table(
            "agents",
            str(SECTIONS["agents"]),
            [_("Agent"), _("Replies")],
            [[a.name or _("Another mail client"), a.replies] for a in report.agents],
        ),
        Table(
            "hours",
            str(SECTIONS["hours"]),
            [_("Day"), *[f"{h}h" for h in range(24)], pgettext("report", "Total")],
            [
                [name, *counts, sum(counts)]
                for name, counts in zip(weekday_names(), report.heat, strict=True)
            ],
        ),
    ]
    if report.satisfaction is not None:  # None when the section was not asked for
        s = report.satisfaction
        tables.append(
            Table(
                "satisfaction",
                str(SECTIONS["satisfaction"]),
                [_("Rating"), _("Answers")],
                [
                    [SatisfactionLevel.GOOD.label, s["good"]],
                    [SatisfactionLevel.AVERAGE.label, s["average"]],
                    [SatisfactionLevel.BAD.label, s["bad"]],
                    [pgettext("report", "Total"), s["total"]],
                ],
            )
        )
    return tables


def cell_text(value) -> str:
    return "—" if value == "" else str(value)
