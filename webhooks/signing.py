"""How a delivery is signed, so a receiver knows it comes from Trupeo and is not replayed.

    Trupeo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

The receiver recomputes the HMAC over the timestamp, a dot and the raw body with the
endpoint's secret, compares in constant time, and refuses a timestamp older than a few
minutes (a replay). The scheme is the one Stripe uses, which most frameworks already verify.
"""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Trupeo-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signature_valid(
    secret: str, body: bytes, header: str, *, now: int, tolerance: int = 300
) -> bool:
    """What a receiver does (our documentation's reference, and the tests' receiver)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
