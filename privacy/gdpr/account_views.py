"""The "Your data" pages: export the workspace or one's account, delete either."""

import json

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace
from privacy.gdpr import deletion, exports
from privacy.gdpr.export_archive import EXPORT_DAYS, export_open
from privacy.models import DataExport, ExportKind, ExportState
from trupeo.storage import ObjectNotFound


class WorkspaceDeleteForm(forms.Form):
    confirm_name = forms.CharField(label=gettext_lazy("Type the workspace's name to confirm"))

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.workspace.name.strip():
            raise ValidationError(gettext_lazy("The name typed is not the workspace's name."))
        return typed


class AccountDeleteForm(forms.Form):
    confirm_email = forms.CharField(label=gettext_lazy("Type your email address to confirm"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_email(self) -> str:
        typed = self.cleaned_data["confirm_email"].strip().lower()
        if typed != self.user.email.lower():
            raise ValidationError(gettext_lazy("The address typed is not your account's."))
        return typed


def _workspace_exports(request: HttpRequest) -> list[DataExport]:
    if getattr(request, "membership", None) is None or not request.membership.is_admin:
        return []
    return list(
        DataExport.objects.filter(workspace=request.workspace, kind=ExportKind.WORKSPACE)
        .exclude(state=ExportState.EXPIRED)
        .order_by("-created_at")[:5]
    )


@login_required
def data_page(request: HttpRequest) -> HttpResponse:
    membership = getattr(request, "membership", None)
    owned = [
        m.workspace.name
        for m in request.user.memberships.filter(role="owner").select_related("workspace")
    ]
    return render(
        request,
        "privacy/account/data.html",
        {
            "membership": membership,
            "exports": _workspace_exports(request),
            "owned": owned,
            "export_days": EXPORT_DAYS,
        },
    )


@admin_required
@require_POST
def export_start(request: WorkspaceRequest) -> HttpResponse:
    exports.export_start(workspace=request.workspace, user=request.user)
    messages.success(
        request, _("The export is being prepared. We will email you when it is ready.")
    )
    return redirect("privacy_data")


@admin_required
def export_progress(request: WorkspaceRequest, export_id: int) -> HttpResponse:
    """One export's row, polled by HTMX while it is being built."""
    export = get_in_workspace(
        request, DataExport.objects.filter(kind=ExportKind.WORKSPACE), pk=export_id
    )
    return render(request, "privacy/account/data.html#export", {"export": export})


@admin_required
def export_download(request: WorkspaceRequest, export_id: int) -> HttpResponse:
    export = get_in_workspace(
        request, DataExport.objects.filter(kind=ExportKind.WORKSPACE), pk=export_id
    )
    if not export.is_downloadable:
        raise Http404(_("This export has expired or is not ready."))
    try:
        chunks = export_open(export)
    except ObjectNotFound:  # purged, or lost from the storage: nothing to download
        raise Http404(_("This export has expired or is not ready.")) from None
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{exports.export_filename(export)}"'
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@reauthentication_required
def workspace_delete(request: WorkspaceRequest) -> HttpResponse:
    if not request.membership.is_owner:
        raise PermissionDenied(_("Only the owner can delete the workspace."))
    workspace = request.workspace
    form = WorkspaceDeleteForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        receipt = deletion.workspace_delete(workspace=workspace, actor=request.user)
        request.session.pop("workspace_id", None)
        messages.success(
            request,
            _("%(name)s was deleted. A receipt was emailed to you.") % {"name": receipt.name},
        )
        return redirect("home")
    return render(request, "privacy/account/workspace_delete.html", {"form": form})


@login_required
@require_POST
def account_export(request: HttpRequest) -> HttpResponse:
    data = exports.account_data(request.user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="trupeo-compte-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@reauthentication_required
def account_delete(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST or None, user=request.user)
    blocked = None
    try:
        deletion.account_delete_check(request.user)
    except ValidationError as error:
        blocked = " ".join(error.messages)
    if request.method == "POST" and blocked is None and form.is_valid():
        user = request.user
        logout(request)
        deletion.account_delete(user=user)
        messages.success(request, _("Your account was deleted. A confirmation was emailed."))
        return redirect("account_login")
    return render(
        request, "privacy/account/account_delete.html", {"form": form, "blocked": blocked}
    )
