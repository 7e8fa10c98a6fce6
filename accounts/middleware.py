"""Per-request context: the language to speak, the active workspace, MFA for staff."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts import staff_mfa
from accounts.memberships import memberships_of

Handler = Callable[[HttpRequest], HttpResponse]
_LANGUAGES = {code for code, _name in settings.LANGUAGES}


def _language_for(request: HttpRequest) -> str:
    # An explicit /fr/ or /en/ prefix wins, then the user's own choice, then the cookie.
    # French is the default: we do not guess from the browser's Accept-Language.
    from_path = translation.get_language_from_path(request.path_info)
    if from_path:
        return from_path
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.language in _LANGUAGES:
        return user.language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in _LANGUAGES:
        return cookie
    return settings.LANGUAGE_CODE


def language_middleware(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        language = _language_for(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

    return middleware


def workspace_middleware(get_response: Handler) -> Handler:
    """Resolve the active workspace: the session's choice, else the last used, else the first."""

    def middleware(request: HttpRequest) -> HttpResponse:
        request.workspace = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        user = request.user
        if user.is_authenticated:
            # All of them in one query: the workspace switcher lists the others.
            memberships = memberships_of(user)
            wanted = request.session.get("workspace_id") or user.last_workspace_id
            membership = next((m for m in memberships if m.workspace_id == wanted), None)
            if membership is None and memberships:
                membership = memberships[0]
            if membership is not None:
                request.workspace = membership.workspace  # type: ignore[attr-defined]
                request.membership = membership  # type: ignore[attr-defined]
            request.memberships = memberships  # type: ignore[attr-defined]
        return get_response(request)

    return middleware


def staff_mfa_middleware(get_response: Handler) -> Handler:
    """Staff reach Django admin only with a second factor set up, and set up their first
    one only after proving they read the staff address (see accounts.staff_mfa)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            return get_response(request)
        if request.path_info.startswith("/admin/") and staff_mfa.enrolment_needs_proof(user):
            messages.warning(
                request, _("Staff accounts need two-factor authentication to open the admin.")
            )
            return redirect("mfa_activate_totp")
        if (
            request.path_info.startswith(reverse("mfa_index"))
            and staff_mfa.enrolment_needs_proof(user)
            and not staff_mfa.enrolment_proven(request)
        ):
            return redirect("staff_mfa_confirm")
        return get_response(request)

    return middleware
