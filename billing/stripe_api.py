"""The one way billing talks to Stripe: a configured SDK client, or billing is off."""

from datetime import UTC, datetime
from functools import lru_cache

import stripe
from django.conf import settings


class BillingError(Exception):
    """Something a person can act on, in words (`str(error)`)."""


def billing_enabled() -> bool:
    """Without a secret key billing is off: no trial ends, nothing becomes read-only."""
    return bool(settings.STRIPE_SECRET_KEY)


def stripe_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        # The SDK retries network errors and 409s with an idempotency key it adds itself.
        max_network_retries=2,
    )


def from_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def redirect_origins() -> list[str]:
    """Where the billing page's forms may redirect to (the CSP form-action)."""
    origins = ["https://checkout.stripe.com", "https://billing.stripe.com"]
    if settings.STRIPE_API_BASE:  # a local fake serves its own checkout pages
        origins.append(settings.STRIPE_API_BASE.rstrip("/"))
    return origins
