"""An owner on trial subscribes: the banner, Stripe Checkout (the local fake's hosted page),
the return, and the plan shown as active once Stripe's signed events have arrived."""

import re

import pytest

from billing.models import Invoice, Subscription
from tests.browser.session import log_in
from tests.parts.stripe_fake import PRICE_YEARLY, stripe_fake  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_trial_checkout_and_return(new_page, live_server, stripe_fake, alice, workspace):  # noqa: F811
    stripe_fake.webhook_url = f"{live_server.url}/billing/stripe/webhook/"
    page = new_page()
    log_in(page, alice.email)

    banner = page.locator(".billing-banner-trial")
    assert "14" in banner.inner_text()
    banner.get_by_role("link").click()
    page.wait_for_url("**/billing/")

    page.locator("label.plan-choice", has=page.locator('input[value="yearly"]')).click()
    page.locator('form[action="/billing/checkout/"] button[type="submit"]').click()
    page.wait_for_url(re.compile(re.escape(stripe_fake.url) + r"/pay/cs_test_\w+"))
    assert "1 siège" in page.locator("p").inner_text()  # one member, one seat

    page.get_by_role("button", name="Payer").click()  # the fake sends its events, then returns
    page.wait_for_url("**/billing/")

    assert [status for _event, status in stripe_fake.sent_events] == [200, 200, 200]
    assert page.locator(".toast-success").count() == 1
    status = page.locator("[data-status]")
    assert status.get_attribute("data-status") == "trialing"  # paid from the trial's end
    assert re.search(r"Active|Actif", status.inner_text())
    assert page.locator(".billing-banner").count() == 0
    assert page.locator('form[action="/billing/checkout/"]').count() == 0
    assert page.locator('form[action="/billing/portal/"]').count() == 1
    invoice = Invoice.objects.get()
    assert invoice.number in page.locator(".invoice-table").inner_text()

    subscription = Subscription.objects.get(workspace=workspace)
    assert (subscription.plan, subscription.seats) == ("yearly", 1)
    (session,) = stripe_fake.calls("POST", "/v1/checkout/sessions")
    assert session["line_items[0][price]"] == PRICE_YEARLY
    assert session["success_url"].startswith(live_server.url)
