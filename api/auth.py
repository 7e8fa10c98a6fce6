"""Who calls the API: a bearer token, never the session cookie.

A browser's cookie does not authenticate here, so a page on another site cannot drive the API
with an agent's session (and the API needs no CSRF token). Every operation runs, before its
body is read, through `TokenAuth`: the body's size, the token, its scope (a read token on a
write operation is a 403), the workspace's read-only state and the rate limit.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from api.errors import ApiError
from api.tokens import Caller, token_caller, token_touch
from trupeo.cache import cache_available

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# A JSON body of ours is a few kilobytes (a reply's text at most): more is refused unread.
MAX_BODY = 256 * 1024


def rate_limit() -> tuple[int, int]:
    """(requests, window in seconds) allowed per token."""
    return settings.API_RATE_LIMIT, settings.API_RATE_WINDOW


def _language(request: HttpRequest) -> None:
    # API clients read English unless they ask for French (no cookie, no user setting here).
    wanted = request.headers.get("Accept-Language", "").strip().lower()
    translation.activate("fr" if wanted.startswith("fr") else "en")
    request.LANGUAGE_CODE = translation.get_language()


def _check_body(request: HttpRequest) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise ApiError(
            413,
            _("The request body is too large (at most %(kb)d KB).") % {"kb": MAX_BODY // 1024},
        )


def _throttle(request: HttpRequest, caller: Caller) -> None:
    """A fixed window per token, counted in the cache (Redis). While Redis is down the
    counters live in each process's memory (trupeo.cache, the "ratelimit:" prefix): the API
    keeps serving, still limited per process, and says so in `X-RateLimit-Scope`."""
    limit, window = rate_limit()
    now = time.time()
    slot = int(now // window)
    key = f"ratelimit:api:{caller.token.pk}:{slot}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 1)
            count = 1
    request.api_rate = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - count)),
        "X-RateLimit-Scope": "token" if cache_available(cache) else "process",
    }
    if count > limit:
        retry = max(1, math.ceil((slot + 1) * window - now))
        raise ApiError(
            429,
            _("Too many requests for this token: try again in %(seconds)d seconds.")
            % {"seconds": retry},
            headers={"Retry-After": str(retry), **request.api_rate},
        )


class TokenAuth(HttpBearer):
    openapi_description = "An API token created in Settings → API (Authorization: Bearer trp_…)."

    def __call__(self, request: HttpRequest):
        _language(request)
        _check_body(request)
        # Parsed here rather than by HttpBearer, which logs the whole header in DEBUG: a
        # token is never logged.
        scheme, _sep, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        return self.authenticate(request, presented.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        caller = token_caller(token)
        if caller is None:
            return None
        if request.method not in SAFE_METHODS and not caller.token.can_write:
            raise ApiError(
                403, _("This token can only read: create a read-write token to change things.")
            )
        _throttle(request, caller)
        if request.method not in SAFE_METHODS and caller.workspace.is_read_only:
            raise ApiError(
                403,
                _(
                    "This workspace is read-only until its subscription is renewed: you can "
                    "read and export everything, but not change or send anything."
                ),
                code="read_only",
            )
        token_touch(caller.token)
        # What `accounts.access` scopes every query by, as for a signed-in page.
        request.user = caller.user
        request.workspace = caller.workspace
        request.membership = caller.membership
        request.api_caller = caller
        return caller
