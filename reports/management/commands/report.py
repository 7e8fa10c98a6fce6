"""manage.py report SLUG --since YYYY-MM-DD --until YYYY-MM-DD [--csv]: the figures of the
reports page (same tables), as readable text or CSV."""

import csv
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from accounts.models import Workspace
from reports.figures import MAX_DAYS, Scope, report_figures
from reports.tables import cell_text, report_tables


def parse_day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name} must be a date written YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "Print a workspace's report for a period (the figures of the reports page)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--csv", action="store_true", help="CSV instead of text tables")
        parser.add_argument("--week", action="store_true", help="counts per week")

    def handle(self, *args, slug: str, since: str, until: str, **options) -> None:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace has the slug {slug!r}.")
        first, last = parse_day(since, "since"), parse_day(until, "until")
        if first > last:
            raise CommandError("--since must not come after --until.")
        if (last - first).days >= MAX_DAYS:
            raise CommandError(f"A report covers at most {MAX_DAYS} days.")
        scope = Scope(workspace.pk, first, last, by_week=options["week"])
        with translation.override("fr"):
            tables = report_tables(report_figures(scope))
            if options["csv"]:
                writer = csv.writer(self.stdout)
                for table in tables:
                    writer.writerow([f"# {table.title}"])
                    writer.writerow(table.header)
                    writer.writerows(table.rows)
                return
            self.stdout.write(f"{workspace.name} — {first.isoformat()} … {last.isoformat()}")
            for table in tables:
                self.stdout.write("")
                self.stdout.write(table.title)
                self.stdout.write(text_table(table.header, table.rows))


def text_table(header: list, rows: list[list]) -> str:
    cells = [[str(h) for h in header], *[[cell_text(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
