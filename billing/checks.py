"""Start-up checks: billing switched on must be complete, or it is an error."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def billing_settings(app_configs, **kwargs) -> list[Error]:
    if not settings.STRIPE_SECRET_KEY:
        return []  # billing off: the app works without it
    errors = []
    if not settings.STRIPE_WEBHOOK_SECRET:
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: "
                "Stripe's events would be refused.",
                id="billing.E001",
            )
        )
    if not (settings.STRIPE_PRICE_MONTHLY or settings.STRIPE_PRICE_YEARLY):
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is set but no plan is: set STRIPE_PRICE_MONTHLY "
                "and/or STRIPE_PRICE_YEARLY.",
                id="billing.E002",
            )
        )
    return errors
