"""Rate limits of the portal's sign-in: per IP (the public forms' helper) and per address.

The per-address counter is keyed by the address's blind token, never the address itself.
"""

from django.core.cache import cache
from django.http import HttpRequest

from privacy.site.ratelimit import rate_limit_hit

PER_IP = (20, 3600)  # sign-in requests an hour from one connection
PER_ADDRESS = (5, 3600)  # links an hour for one address


def signin_limited(request: HttpRequest, *, workspace_id: int, token: int) -> bool:
    """Count one sign-in request; True when the IP or the address asked too often."""
    by_ip = rate_limit_hit(request, scope="portal-signin", limit=PER_IP[0], window=PER_IP[1])
    key = f"ratelimit:portal-address:{workspace_id}:{token}"
    if cache.add(key, 1, timeout=PER_ADDRESS[1]):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=PER_ADDRESS[1])
            count = 1
    return by_ip or count > PER_ADDRESS[0]
