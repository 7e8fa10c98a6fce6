"""A small cache-based rate limit per client IP, for the public forms."""

from django.http import HttpRequest

from trupeo.cache import count_in_window


def client_ip(request: HttpRequest) -> str:
    # Behind the TLS proxy, gunicorn's forwarded_allow_ips makes REMOTE_ADDR the client's.
    return request.META.get("REMOTE_ADDR") or "unknown"


def rate_limit_hit(request: HttpRequest, *, scope: str, limit: int, window: int) -> bool:
    """Count one attempt; True once the IP has made more than `limit` within `window` seconds.

    Fixed windows: the counter is created with its expiry and only incremented after that.
    """
    return count_in_window(f"ratelimit:{scope}:{client_ip(request)}", window) > limit
