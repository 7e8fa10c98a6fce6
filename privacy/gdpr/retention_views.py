"""Retention settings, for the workspace's owner only: the policy per category with its legal
bounds, a preview of what it would delete, the confirmation, and the deletion receipts."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace, writable
from privacy.gdpr.retention_forms import RetentionPolicyForm, initial_for
from privacy.gdpr.retention_policies import (
    CATEGORIES,
    INVOICE_YEARS,
    days_label,
    defaults,
    policy_confirm,
    policy_days,
    policy_in_force,
    policy_preview,
)
from privacy.gdpr.retention_receipts import receipt_csv, receipt_filename, receipts_recent
from privacy.models import DeletionReceipt


def owner_required(view):
    """Owners only: admins and agents get a 403 (retention decides what is deleted)."""

    @admin_required
    def wrapper(request: WorkspaceRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.is_owner:
            raise PermissionDenied(_("Only the owner can set what is kept and for how long."))
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _page(request: WorkspaceRequest, form: RetentionPolicyForm, *, status: int = 200):
    policy = policy_in_force(workspace_id=request.workspace.pk)
    in_force = policy_days(policy) if policy else None
    rows = [
        (category, form[category.key], days_label(in_force[category.key]) if in_force else "")
        for category in CATEGORIES
    ]
    context = {
        "rows": rows,
        "form": form,
        "policy": policy,
        "in_force": in_force,
        "invoice_years": INVOICE_YEARS,
        "receipts": receipts_recent(workspace_id=request.workspace.pk),
    }
    return render(request, "privacy/account/retention.html", context, status=status)


@owner_required
def retention_page(request: WorkspaceRequest) -> HttpResponse:
    policy = policy_in_force(workspace_id=request.workspace.pk)
    current = policy_days(policy) if policy else defaults()
    return _page(request, RetentionPolicyForm(initial=initial_for(current)))


@owner_required
@require_POST
def retention_preview(request: WorkspaceRequest) -> HttpResponse:
    """What the proposed policy would delete if it ran now: counts only, then confirm."""
    form = RetentionPolicyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    days = form.days()
    counts = policy_preview(workspace_id=request.workspace.pk, days=days)
    rows = [
        (category, days_label(days[category.key]), counts[category.key], form[category.key])
        for category in CATEGORIES
    ]
    context = {"rows": rows, "form": form, "total": sum(counts.values())}
    return render(request, "privacy/account/retention_preview.html", context)


@owner_required
@writable
@require_POST
def retention_confirm(request: WorkspaceRequest) -> HttpResponse:
    form = RetentionPolicyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    policy_confirm(workspace=request.workspace, days=form.days(), actor=request.user)
    messages.success(
        request,
        _("The retention policy is saved. It applies from the next nightly run."),
    )
    return redirect("privacy_retention")


@owner_required
def receipt_download(request: WorkspaceRequest, receipt_id: int) -> HttpResponse:
    receipt = get_in_workspace(
        request, DeletionReceipt.objects.select_related("policy"), pk=receipt_id
    )
    response = HttpResponse(receipt_csv(receipt), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(receipt)}"'
    response["Cache-Control"] = "no-store"
    return response
