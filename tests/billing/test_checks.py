"""Billing switched on must be complete: a missing webhook secret or plan stops start-up."""

from billing.checks import billing_settings


def test_billing_off_needs_nothing(settings):
    settings.STRIPE_SECRET_KEY = ""
    assert billing_settings(None) == []


def test_billing_on_needs_a_webhook_secret_and_a_plan(settings):
    settings.STRIPE_SECRET_KEY = "sk_live_x"
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.STRIPE_PRICE_MONTHLY = settings.STRIPE_PRICE_YEARLY = ""
    assert [e.id for e in billing_settings(None)] == ["billing.E001", "billing.E002"]

    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.STRIPE_PRICE_YEARLY = "price_y"
    assert billing_settings(None) == []
