"""A small cache-based rate limit per client IP, for the public forms."""

from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # Behind the TLS proxy, gunicorn's forwarded_allow_ips makes REMOTE_ADDR the client's.
    return request.META.get("REMOTE_ADDR") or "unknown"


def rate_limit_hit(request: HttpRequest, *, scope: str, limit: int, window: int) -> bool:
    """Count one attempt; True once the IP has made more than `limit` within `window` seconds.

    Fixed windows: the counter is created with its expiry and only incremented after that.
    """
    key = f"ratelimit:{scope}:{client_ip(request)}"
    if cache.add(key, 1, timeout=window):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count > limit
