"""The one way views reach workspace data.

Every request resolves one active workspace (see `accounts.middleware`). Views load their
objects through `get_in_workspace` / `in_workspace`, so another workspace's id is a 404,
never a 403 that would confirm it exists.
"""

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRefresh

if TYPE_CHECKING:
    from accounts.models import Membership, User, Workspace


class WorkspaceRequest(HttpRequest):
    """What a view decorated with `member_required` receives (for type checkers)."""

    user: "User"
    workspace: "Workspace"
    membership: "Membership"


def in_workspace[M: Model](request: HttpRequest, queryset: QuerySet[M] | type[M]) -> QuerySet[M]:
    """The rows of the request's active workspace, and only those."""
    qs = queryset.objects.all() if isinstance(queryset, type) else queryset
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        return qs.none()
    return qs.filter(workspace=workspace)


def get_in_workspace[M: Model](
    request: HttpRequest, queryset: QuerySet[M] | type[M], **lookup: Any
) -> M:
    return get_object_or_404(in_workspace(request, queryset), **lookup)


ViewFunc = Callable[..., HttpResponse]


def member_required(view: ViewFunc) -> ViewFunc:
    """Logged in, with an active workspace; otherwise log in or create a workspace first."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "membership", None) is None:
            return redirect("workspace_create")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: ViewFunc) -> ViewFunc:
    """Owners and admins only; agents get a 403 with a sentence, not a hidden button."""

    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.is_admin:  # type: ignore[attr-defined]
            raise PermissionDenied("Only workspace admins can do this.")
        return view(request, *args, **kwargs)

    return wrapper


def writable(view: ViewFunc) -> ViewFunc:
    """A POST to a read-only workspace (billing lapsed) changes nothing and says why.

    Goes under `member_required` / `admin_required`. Reading and exporting stay open; nothing
    is ever deleted for an unpaid invoice.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        workspace = getattr(request, "workspace", None)
        if request.method != "POST" or workspace is None or not workspace.is_read_only:
            return view(request, *args, **kwargs)
        messages.error(
            request,
            _(
                "This workspace is read-only until its subscription is renewed: you can "
                "read and export everything, but not change or send anything."
            ),
        )
        back = request.headers.get("referer", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = "/"
        if getattr(request, "htmx", False):
            # A fragment request: reload the page so the message shows where it belongs.
            return HttpResponseClientRefresh()
        return redirect(back)

    return wrapper
