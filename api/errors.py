"""Every API error as JSON with a sentence: `{"error": {"code": "...", "message": "..."}}`.

Ninja's own errors (authentication, validation, an unreadable body) and the project's
(Http404 from `accounts.access`, ValidationError from the actions, BadRequest from the
selectors) are reshaped here, and so are the 400/404s Django answers before any API view runs
(a NUL byte in the address, an unknown path under /api/)."""

from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from inbox.mail.sending import OutgoingStateError

API_PREFIX = "/api/"

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.headers = headers or {}
        self.extra = extra or {}


def error_response(
    status: int,
    message: str,
    *,
    code: str = "",
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JsonResponse:
    body = {"code": code or CODES.get(status, "error"), "message": message, **(extra or {})}
    response = JsonResponse({"error": body}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def unauthorized_message() -> str:
    return _(
        "Give a valid API token in the Authorization header (Authorization: Bearer <token>); "
        "this one is missing, revoked, expired or unknown."
    )


def _field(loc: list) -> str:
    # ("body", "payload", "status") -> "status"; ("query", "cursor") -> "cursor"
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "body"


def _validation(errors: list[dict]) -> JsonResponse:
    details = [
        {"field": _field(e.get("loc", [])), "message": str(e.get("msg", ""))} for e in errors
    ]
    sentence = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return error_response(
        422,
        _("The request is not valid: %(problems)s.") % {"problems": sentence},
        extra={"details": details[:50]},
    )


def install(api: NinjaAPI) -> None:
    """The handlers, most specific first as Ninja looks them up by the exception's class."""

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(
            exc.status, exc.message, code=exc.code, headers=exc.headers, extra=exc.extra
        )

    def on_authentication(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(
            401, unauthorized_message(), headers={"WWW-Authenticate": 'Bearer realm="trupeo"'}
        )

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # Ninja could not read the body (not JSON, not UTF-8)
            return error_response(400, _("The request body is not valid JSON."))
        return error_response(exc.status_code, str(exc))

    def on_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return _validation(exc.errors)

    def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(404, _("No such object in this workspace."))

    def on_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(403, str(exc) or _("You may not do this."))

    def on_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return error_response(422, " ".join(exc.messages))

    def on_bad_request(request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, RequestDataTooBig):
            return error_response(413, _("The request body is too large."))
        return error_response(400, str(exc) or _("The request is not valid."))

    def on_state(request: HttpRequest, exc: OutgoingStateError) -> HttpResponse:
        return error_response(409, str(exc))

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(NinjaValidationError, on_validation)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(PermissionDenied, on_denied)
    api.add_exception_handler(DjangoValidationError, on_invalid)
    api.add_exception_handler(BadRequest, on_bad_request)
    api.add_exception_handler(RequestDataTooBig, on_bad_request)
    api.add_exception_handler(OutgoingStateError, on_state)


# --- Django's own error views, JSON under /api/ --------------------------------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_response(400, _("The request is not valid."))
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_response(403, _("You may not do this."))
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return error_response(404, _("There is no such address in the API."))
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return error_response(500, _("Something went wrong on our side; try again later."))
    return defaults.server_error(request)
