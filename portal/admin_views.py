"""The workspace admins' page of the portal: which mailboxes show, where new requests land,
how it looks, and who may see whose conversations (delegations). Admins and owners only."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace, writable
from accounts.keys import keys_for
from portal import actions, erasure
from portal.forms import DelegationForm, ErasureAnswerForm, PortalSettingsForm
from portal.models import Delegation, ErasureRequest, PortalSettings
from portal.selectors import delegation_content, own_addresses


def _delegations(request: WorkspaceRequest) -> list[dict]:
    keys = keys_for(request.workspace)
    rows = Delegation.objects.filter(workspace=request.workspace, revoked_at=None).order_by("-id")
    return [{"row": row, **delegation_content(keys, row)} for row in rows]


def _page(request: WorkspaceRequest, form, delegation_form, status: int = 200) -> HttpResponse:
    url = settings.SITE_URL + reverse("portal_home", args=[request.workspace.slug])
    context = {
        "form": form,
        "delegation_form": delegation_form,
        "delegations": _delegations(request),
        "portal_url": url,
        "row": PortalSettings.objects.filter(workspace=request.workspace).first(),
        "erasures": erasure.erasures_open(workspace=request.workspace),
        "answer_form": ErasureAnswerForm(),
    }
    return render(request, "portal/admin.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@admin_required
@writable
def portal_admin(request: WorkspaceRequest) -> HttpResponse:
    row = PortalSettings.objects.filter(workspace=request.workspace).first()
    initial = {
        "mailboxes": list(row.mailboxes.all()) if row else [],
        "intake_mailbox": row.intake_mailbox if row else None,
        "remember_days": row.remember_days if row else 30,
        "accent_color": row.accent_color if row else "#2f5bd3",
    }
    form = PortalSettingsForm(
        request.POST or None, request.FILES or None, workspace=request.workspace, initial=initial
    )
    if request.method == "POST":
        if not form.is_valid():
            return _page(request, form, DelegationForm(), status=400)
        data = form.cleaned_data
        actions.portal_settings_save(
            workspace=request.workspace,
            mailboxes=list(data["mailboxes"]),
            intake_mailbox=data["intake_mailbox"],
            remember_days=data["remember_days"],
            accent_color=data["accent_color"],
            logo=data["logo"],
            remove_logo=data["remove_logo"],
        )
        messages.success(request, _("The portal settings were saved."))
        return redirect("portal_admin")
    return _page(request, form, DelegationForm())


@require_POST
@admin_required
@writable
def portal_delegation_add(request: WorkspaceRequest) -> HttpResponse:
    form = DelegationForm(request.POST, own=own_addresses(request.workspace))
    if not form.is_valid():
        settings_form = PortalSettingsForm(workspace=request.workspace)
        return _page(request, settings_form, form, status=400)
    actions.delegation_create(
        workspace=request.workspace,
        delegate=form.cleaned_data["delegate"],
        target=form.cleaned_data["target"],
        can_reply=form.cleaned_data["can_reply"],
        created_by=request.user,
    )
    messages.success(request, _("Access was given."))
    return redirect("portal_admin")


@require_POST
@admin_required
@writable
def portal_delegation_revoke(request: WorkspaceRequest, delegation_id: int) -> HttpResponse:
    delegation = get_in_workspace(request, Delegation, pk=delegation_id, revoked_at=None)
    actions.delegation_revoke(delegation=delegation)
    messages.success(request, _("Access was withdrawn."))
    return redirect("portal_admin")


@require_POST
@admin_required
@writable
def portal_erasure_answer(request: WorkspaceRequest, erasure_id: int) -> HttpResponse:
    """The workspace, controller of its requesters' data, answers an erasure request."""
    row = get_in_workspace(
        request, ErasureRequest.objects.select_related("gdpr_request"), pk=erasure_id
    )
    form = ErasureAnswerForm(request.POST)
    if not form.is_valid() or not row.gdpr_request.is_open:
        messages.error(request, _("Write the answer that was sent."))
        return redirect("portal_admin")
    erasure.erasure_answer(
        erasure=row,
        answer=form.cleaned_data["answer"],
        refused=form.cleaned_data["refused"],
        actor=request.user,
    )
    messages.success(request, _("The request is answered; the requester is told by email."))
    return redirect("portal_admin")
