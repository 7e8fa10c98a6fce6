"""The reports page and its CSV exports: owners and admins only (agents get a 403: the page
compares teammates, which is the managers' business)."""

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.access import WorkspaceRequest, admin_required
from accounts.models import Membership
from inbox.models import Mailbox
from inbox.selectors.tags import workspace_tags
from reports import charts
from reports.figures import report_figures
from reports.forms import ReportForm
from reports.tables import SECTIONS, report_tables

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _form(request: WorkspaceRequest) -> ReportForm:
    form = ReportForm(request.GET.dict(), workspace=request.workspace)
    if not form.is_valid() and form.not_in_workspace():
        raise Http404  # another workspace's mailbox, tag or teammate: as if it did not exist
    return form


@admin_required
@require_GET
def report_page(request: WorkspaceRequest) -> HttpResponse:
    form = _form(request)
    context = {
        "form": form,
        "mailboxes": Mailbox.objects.filter(workspace=request.workspace).order_by("address"),
        "tags": workspace_tags(request.workspace),
        "members": Membership.objects.filter(workspace=request.workspace)
        .select_related("user")
        .order_by("user__name", "user__email"),
    }
    if not form.is_valid():
        return render(request, "reports/report.html", context, status=400)
    report = report_figures(form.scope())
    context.update(
        report=report,
        tables={t.slug: t for t in report_tables(report)},
        volume=charts.volume_chart(report),
        heat=charts.heat_chart(report),
        agents=charts.agents_chart(report),
        times=charts.durations_chart(report),
        first_reply_share=charts.share_text(report.first_reply),
        resolution_share=charts.share_text(report.resolution),
        query=request.GET.urlencode(),
    )
    return render(request, "reports/report.html", context)


def csv_cell(value) -> object:
    """A text cell a spreadsheet would run as a formula is quoted as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@admin_required
@require_GET
def report_csv(request: WorkspaceRequest, section: str) -> HttpResponse:
    if section not in SECTIONS:
        raise Http404
    form = _form(request)
    if not form.is_valid():
        return HttpResponse(
            " ".join(e for errors in form.errors.values() for e in errors) or _("Invalid period."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    scope = form.scope()
    tables = {t.slug: t for t in report_tables(report_figures(scope, only=section))}
    table = tables[section]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"trupeo-{section}-{scope.since.isoformat()}-{scope.until.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(h) for h in table.header])
    writer.writerows([[csv_cell(v) for v in row] for row in table.rows])
    return response
