"""Settings → API: admins create tokens (the secret shown once), see when each was last
used, and revoke them."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace, in_workspace
from api.forms import TokenForm
from api.models import ApiToken
from api.tokens import allowed_roles, token_create, token_name, token_revoke


@admin_required
def token_list(request: WorkspaceRequest) -> HttpResponse:
    created = None
    form = TokenForm(request.POST or None)
    form.fields["role"].choices = [
        c for c in form.fields["role"].choices if c[0] in allowed_roles(request.membership)
    ]
    if request.method == "POST" and form.is_valid():
        try:
            created = token_create(
                workspace=request.workspace,
                created_by=request.user,
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                scope=form.cleaned_data["scope"],
                lifetime_days=form.cleaned_data["lifetime"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            form = TokenForm()
    tokens = list(
        in_workspace(request, ApiToken).select_related("created_by").order_by("-created_at")[:200]
    )
    rows = [{"token": t, "name": token_name(t, request.workspace)} for t in tokens]
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "rows": rows,
            # Shown on this answer only: the secret is not stored and cannot be shown again.
            "secret": created.secret if created else "",
            "created": created.token if created else None,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_POST
def token_revoke_view(request: WorkspaceRequest, token_id: int) -> HttpResponse:
    token = get_in_workspace(request, ApiToken, pk=token_id)
    token_revoke(token=token)
    messages.success(
        request,
        _("The token “%(name)s” is revoked.") % {"name": token_name(token, request.workspace)},
    )
    return redirect("api_tokens")
