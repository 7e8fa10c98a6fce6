"""The webhook settings: admins and owners only; another workspace's endpoint is a 404."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, admin_required, get_in_workspace, writable
from accounts.keys import keys_for
from trupeo.params import parse_id
from webhooks.endpoints import (
    endpoint_create,
    endpoint_delete,
    endpoint_enable,
    endpoint_ping,
    endpoint_secret_rotate,
    endpoint_update,
)
from webhooks.forms import EndpointForm
from webhooks.models import Endpoint
from webhooks.selectors import deliveries_page, endpoint_url, endpoints_for
from webhooks.signing import SIGNATURE_HEADER


@admin_required
def webhook_list(request: WorkspaceRequest) -> HttpResponse:
    return render(
        request, "webhooks/list.html", {"endpoints": endpoints_for(workspace=request.workspace)}
    )


def _secret_page(request: WorkspaceRequest, endpoint: Endpoint, secret: str) -> HttpResponse:
    response = render(
        request,
        "webhooks/secret.html",
        {"endpoint": endpoint, "secret": secret, "header": SIGNATURE_HEADER},
    )
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@writable
@never_cache
def webhook_add(request: WorkspaceRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint, secret = endpoint_create(
            workspace=request.workspace, actor=request.user, **form.cleaned_data
        )
        return _secret_page(request, endpoint, secret)
    return render(request, "webhooks/form.html", {"form": form, "endpoint": None})


@admin_required
@writable
@never_cache
def webhook_edit(request: WorkspaceRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_in_workspace(request, Endpoint, pk=endpoint_id)
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if form.is_valid():
            endpoint_update(endpoint=endpoint, **form.cleaned_data)
            messages.success(request, _("The webhook is saved."))
            return redirect("webhook_edit", endpoint.pk)
    else:
        form = EndpointForm(
            initial={
                "name": endpoint.name,
                "url": endpoint_url(keys_for(request.workspace), endpoint),
                "preset": endpoint.preset,
                "events": endpoint.events,
                "include_content": endpoint.include_content,
            }
        )
    return render(request, "webhooks/form.html", {"form": form, "endpoint": endpoint})


@admin_required
def webhook_deliveries(request: WorkspaceRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_in_workspace(request, Endpoint, pk=endpoint_id)
    rows, before = deliveries_page(
        endpoint=endpoint, before=parse_id(request.GET.get("before", ""))
    )
    return render(
        request,
        "webhooks/deliveries.html",
        {"endpoint": endpoint, "deliveries": rows, "before": before},
    )


@admin_required
@writable
@require_POST
def webhook_ping(request: WorkspaceRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_in_workspace(request, Endpoint, pk=endpoint_id)
    if endpoint_ping(endpoint=endpoint, actor=request.user) is None:
        messages.error(request, _("Enable the webhook before sending a test."))
    else:
        messages.success(request, _("A test delivery is on its way; the log below shows it."))
    return redirect("webhook_deliveries", endpoint.pk)


@admin_required
@writable
@require_POST
def webhook_enable(request: WorkspaceRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_in_workspace(request, Endpoint, pk=endpoint_id)
    endpoint_enable(endpoint=endpoint)
    messages.success(request, _("The webhook is enabled again."))
    return redirect("webhook_edit", endpoint.pk)


@admin_required
@writable
@require_POST
@never_cache
def webhook_secret(request: WorkspaceRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_in_workspace(request, Endpoint, pk=endpoint_id)
    return _secret_page(request, endpoint, endpoint_secret_rotate(endpoint=endpoint))


@admin_required
@writable
@require_POST
def webhook_delete(request: WorkspaceRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_in_workspace(request, Endpoint, pk=endpoint_id)
    endpoint_delete(endpoint=endpoint)
    messages.success(request, _("The webhook is deleted."))
    return redirect("webhook_list")
