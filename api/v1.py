"""The REST API, version 1, mounted at /api/v1/ (trupeo/urls.py): OpenAPI 3 at
/api/v1/openapi.json, its docs page at /api/v1/docs (Swagger UI served from our own static
files: nothing is fetched from a CDN, and the page passes our Content-Security-Policy)."""

from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger

from api import actions, contacts, conversations, directory, errors, replies
from api.auth import TokenAuth
from api.errors import error_response


class TrupeoApi(NinjaAPI):
    def create_response(self, request: HttpRequest, data: Any, **kwargs: Any) -> HttpResponse:
        response = super().create_response(request, data, **kwargs)
        # The rate limit's state, counted by api.auth before the operation ran.
        for name, value in getattr(request, "api_rate", {}).items():
            response[name] = value
        response.setdefault("Cache-Control", "private, no-store")
        return response


api = TrupeoApi(
    title="Trupeo API",
    version="1",
    description=(
        "Read and act on a workspace's conversations. Authenticate with an API token created "
        "in Settings → API: `Authorization: Bearer trp_…`. Errors are JSON: "
        '`{"error": {"code": "...", "message": "..."}}`.'
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    docs=Swagger(settings={"persistAuthorization": False, "tryItOutEnabled": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("", directory.router)
api.add_router("", conversations.router)
api.add_router("", contacts.router)
api.add_router("", actions.router)
api.add_router("", replies.router)


def _json_not_allowed(view):
    """Ninja answers a method a path does not take with a plain-text 405: ours is JSON too."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return error_response(
                405,
                _("This address does not take %(method)s.") % {"method": request.method},
                headers={"Allow": response.get("Allow", "")},
            )
        return response

    return wrapper


def urls():
    """What trupeo/urls.py includes at /api/v1/."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _json_not_allowed(pattern.callback)
    return patterns, app_name, namespace
