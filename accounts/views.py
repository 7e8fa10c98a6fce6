"""Workspace, team and profile pages."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import services
from accounts.access import WorkspaceRequest, admin_required, get_in_workspace, member_required
from accounts.forms import (
    InvitationForm,
    ProfileForm,
    RecipientLimitForm,
    RoleForm,
    UndoDelayForm,
    WorkspaceForm,
)
from accounts.models import Invitation, Membership


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # Visitors land on the public site, in their language (French unless they chose).
        return redirect("public-home")
    if getattr(request, "membership", None) is None:
        return redirect("workspace_create")
    return redirect("inbox")


@login_required
def workspace_create(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = services.workspace_create(
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            owner=request.user,
            terms_version=settings.TRUPEO_DPA_VERSION,
            terms_ip=request.META.get("REMOTE_ADDR"),
        )
        request.session["workspace_id"] = workspace.pk
        messages.success(request, _("Welcome to %(name)s.") % {"name": workspace.name})
        return redirect("home")
    first = getattr(request, "membership", None) is None
    return render(
        request,
        "accounts/workspace_create.html",
        {"form": form, "first": first, "terms_version": settings.TRUPEO_DPA_VERSION},
    )


@login_required
@require_POST
def workspace_switch(request: HttpRequest, workspace_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership, user=request.user, workspace_id=workspace_id)
    request.session["workspace_id"] = membership.workspace_id
    request.user.last_workspace_id = membership.workspace_id
    request.user.save(update_fields=["last_workspace"])
    return redirect("home")


@member_required
def members(request: WorkspaceRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(workspace=request.workspace)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    invitations = [
        i
        for i in Invitation.objects.filter(
            workspace=request.workspace, accepted_at=None, revoked_at=None
        ).order_by("-created_at")
        if i.is_pending
    ]
    return render(
        request,
        "accounts/members.html",
        {
            "memberships": memberships,
            "invitations": invitations,
            "invite_form": InvitationForm(),
            "role_form": RoleForm,
            "limit_form": RecipientLimitForm(
                initial={"max_recipients": request.workspace.max_recipients}
            ),
            "undo_form": UndoDelayForm(
                initial={"undo_send_seconds": request.workspace.undo_send_seconds}
            ),
        },
    )


@admin_required
@require_POST
def member_invite(request: WorkspaceRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                workspace=request.workspace,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect("members")


@admin_required
@require_POST
def invitation_revoke(request: WorkspaceRequest, invitation_id: int) -> HttpResponse:
    invitation = get_in_workspace(request, Invitation, pk=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
    return redirect("members")


@admin_required
@require_POST
def member_remove(request: WorkspaceRequest, membership_id: int) -> HttpResponse:
    membership = get_in_workspace(
        request, Membership.objects.select_related("user"), pk=membership_id
    )
    try:
        services.member_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(name)s was removed.") % {"name": membership.user.display_name}
        )
    return redirect("members")


@admin_required
@require_POST
def member_role(request: WorkspaceRequest, membership_id: int) -> HttpResponse:
    membership = get_in_workspace(
        request, Membership.objects.select_related("user"), pk=membership_id
    )
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Unknown role."))
        services.member_role_change(membership=membership, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Role updated."))
    return redirect("members")


@member_required
@require_POST
def ownership_transfer(request: WorkspaceRequest, membership_id: int) -> HttpResponse:
    membership = get_in_workspace(
        request, Membership.objects.select_related("user"), pk=membership_id
    )
    if not request.membership.is_owner:
        raise PermissionDenied(_("Only the owner can transfer ownership."))
    services.ownership_transfer(workspace=request.workspace, to=membership)
    messages.success(
        request, _("%(name)s now owns this workspace.") % {"name": membership.user.display_name}
    )
    return redirect("members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_from_token(token)
    if invitation is None:
        request.session.pop("pending_invitation", None)
        return render(request, "accounts/invitation_invalid.html", status=404)
    context = {"invitation": invitation, "path": request.path}
    if not request.user.is_authenticated:
        # Signing up or logging in comes back here. A sign-up with the invited address still
        # confirms it by email: whoever holds the link does not necessarily own the address.
        request.session["pending_invitation"] = token
        context["signup_url"] = (
            reverse("account_signup") + "?" + urlencode({"email": invitation.email})
        )
        return render(request, "accounts/invitation_accept.html", context)
    if not services.invitation_is_for(invitation=invitation, user=request.user):
        # Another account (or this address not yet confirmed): nothing changes, and the
        # invitation stays usable by the person it was sent to.
        context["wrong_account"] = True
        return render(request, "accounts/invitation_accept.html", context, status=403)
    if request.method == "POST":
        request.session.pop("pending_invitation", None)
        try:
            membership = services.invitation_accept(
                invitation=invitation,
                user=request.user,
                terms_version=settings.TRUPEO_DPA_VERSION
                if request.POST.get("accept_terms")
                else None,
                terms_ip=request.META.get("REMOTE_ADDR"),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("home")
        request.session["workspace_id"] = membership.workspace_id
        messages.success(request, _("You joined %(name)s.") % {"name": invitation.workspace.name})
        return redirect("home")
    return render(request, "accounts/invitation_accept.html", context)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile is saved."))
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: stored on the user, and in a cookie for visitors."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    if request.user.is_authenticated:
        request.user.language = language
        request.user.save(update_fields=["language"])
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)  # a path, never a view name to reverse
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


@member_required
@require_POST
def workspace_recipient_limit(request: WorkspaceRequest) -> HttpResponse:
    """The owner sets the most recipients one message may have (a 403 for anyone else)."""
    if not request.membership.is_owner:
        raise PermissionDenied(_("Only the workspace's owner can change the recipient limit."))
    form = RecipientLimitForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("members")
    services.workspace_max_recipients_set(
        workspace=request.workspace,
        by=request.membership,
        value=form.cleaned_data["max_recipients"],
    )
    messages.success(request, _("The recipient limit is saved."))
    return redirect("members")


@member_required
@require_POST
def workspace_undo_delay(request: WorkspaceRequest) -> HttpResponse:
    """The owner sets how long a sent message can be undone (a 403 for anyone else)."""
    if not request.membership.is_owner:
        raise PermissionDenied(_("Only the workspace's owner can change the undo delay."))
    form = UndoDelayForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("members")
    services.workspace_undo_delay_set(
        workspace=request.workspace,
        by=request.membership,
        seconds=form.cleaned_data["undo_send_seconds"],
    )
    messages.success(request, _("The undo delay is saved."))
    return redirect("members")
