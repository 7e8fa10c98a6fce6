"""The workspace's data-processing terms page: the version in force, who accepted which
version and how, and — for the owner — accepting the version in force."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import WorkspaceRequest, member_required
from privacy.gdpr.processor_terms import terms_history, terms_owner_accept, terms_owner_pending
from privacy.site.ratelimit import client_ip
from privacy.site.terms_text import current_version, terms_url


@member_required
@require_http_methods(["GET", "HEAD", "POST"])
def processor_terms_page(request: WorkspaceRequest) -> HttpResponse:
    version = current_version()
    if request.method == "POST":
        # Only the owner accepts on behalf of the client; nobody else is asked or may.
        if not request.membership.is_owner:
            raise PermissionDenied(_("Only the workspace's owner accepts the terms."))
        if not request.POST.get("accept_terms"):
            messages.error(request, _("Tick the box to accept the data-processing terms."))
            return redirect("processor_terms")
        # The version the owner read, not whatever is in force when the form arrives.
        if request.POST.get("version") != version:
            messages.error(request, _("The terms changed while you were reading: read them again."))
            return redirect("processor_terms")
        terms_owner_accept(
            workspace=request.workspace, user=request.user, version=version, ip=client_ip(request)
        )
        messages.success(
            request,
            _("Data-processing terms %(version)s accepted for %(name)s.")
            % {"version": version, "name": request.workspace.name},
        )
        return redirect("processor_terms")
    return render(
        request,
        "privacy/account/processor_terms.html",
        {
            "version": version,
            "terms_url": terms_url(request.LANGUAGE_CODE),
            "pending": terms_owner_pending(request.workspace),
            "history": terms_history(request.workspace),
        },
    )
