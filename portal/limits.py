"""Rate limits of the portal: sign-in requests per IP (the public forms' helper) and per
address; replies and new requests per requester and per IP (each one can carry 20 MB of files
and wakes the team).

The per-address counters are keyed by the address's blind token, never the address itself.
"""

from django.http import HttpRequest

from privacy.site.ratelimit import rate_limit_hit
from trupeo.cache import count_in_window

PER_IP = (20, 3600)  # sign-in requests an hour from one connection
PER_ADDRESS = (5, 3600)  # links an hour for one address
WRITES = (30, 3600)  # replies and new requests an hour, per requester and per IP


def writes_limited(request: HttpRequest, *, workspace_id: int, token: int) -> bool:
    """Count one reply or new request; True when the requester or the IP wrote too often."""
    by_ip = rate_limit_hit(request, scope="portal-writes", limit=WRITES[0], window=WRITES[1])
    count = count_in_window(f"ratelimit:portal-writes:{workspace_id}:{token}", WRITES[1])
    return by_ip or count > WRITES[0]


def signin_limited(request: HttpRequest, *, workspace_id: int, token: int) -> bool:
    """Count one sign-in request; True when the IP or the address asked too often."""
    by_ip = rate_limit_hit(request, scope="portal-signin", limit=PER_IP[0], window=PER_IP[1])
    count = count_in_window(f"ratelimit:portal-address:{workspace_id}:{token}", PER_ADDRESS[1])
    return by_ip or count > PER_ADDRESS[0]
