"""The billing page, Stripe Checkout and the customer portal: exact parameters, owners only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Status, Subscription
from tests.parts.stripe_fake import PRICE_MONTHLY, PRICE_YEARLY

pytestmark = pytest.mark.django_db


def _sub(workspace) -> Subscription:
    return Subscription.objects.get(workspace=workspace)


def test_owner_sees_the_billing_page_with_the_trial(stripe_fake, alice_client, workspace):
    response = alice_client.get("/billing/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Free trial" in page
    assert 'name="plan" value="monthly"' in page and 'name="plan" value="yearly"' in page
    assert "9.00\u00a0€" in page and "90.00\u00a0€" in page
    # The forms redirect to Stripe: the page's CSP lets them, and only this page's.
    csp = response.headers["Content-Security-Policy"]
    form_action = next(d for d in csp.split(";") if d.strip().startswith("form-action"))
    assert "https://checkout.stripe.com" in form_action and stripe_fake.url in form_action
    assert (
        "checkout.stripe.com" not in alice_client.get("/team/").headers["Content-Security-Policy"]
    )
    assert stripe_fake.api_requests() == []  # looking costs no Stripe call


def test_agents_get_a_403_and_nothing_is_sent(stripe_fake, bob_client):
    assert bob_client.get("/billing/").status_code == 403
    assert bob_client.post("/billing/checkout/", {"plan": "monthly"}).status_code == 403
    assert bob_client.post("/billing/portal/").status_code == 403
    assert stripe_fake.requests == []


def test_anonymous_is_sent_to_log_in(stripe_fake, client):
    response = client.get("/billing/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_checkout_sends_exactly_these_parameters(stripe_fake, alice_client, workspace, alice, bob):
    Subscription.objects.filter(workspace=workspace).update(
        trial_ends_at=timezone.now() + timedelta(days=10)
    )
    response = alice_client.post("/billing/checkout/", {"plan": "yearly"})

    assert response.status_code == 302
    session = next(iter(stripe_fake.checkout_sessions.values()))
    assert response.url == f"{stripe_fake.url}/pay/{session['id']}"

    customer = stripe_fake.calls("POST", "/v1/customers")
    customer_id = _sub(workspace).stripe_customer_id
    assert customer == [
        {
            "name": "Lycée Jules Verne",
            "email": "alice@lycee-verne.fr",
            "preferred_locales[0]": "fr",
            "metadata[workspace_id]": str(workspace.pk),
            "metadata[workspace_slug]": workspace.slug,
        }
    ]
    assert customer_id.startswith("cus_")
    trial_end = str(int(_sub(workspace).trial_ends_at.timestamp()))
    assert stripe_fake.calls("POST", "/v1/checkout/sessions") == [
        {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(workspace.pk),
            "line_items[0][price]": PRICE_YEARLY,
            "line_items[0][quantity]": "2",  # alice and bob
            "billing_address_collection": "required",
            "tax_id_collection[enabled]": "true",
            "customer_update[address]": "auto",
            "customer_update[name]": "auto",
            "automatic_tax[enabled]": "true",
            "locale": "fr",
            "subscription_data[metadata][workspace_id]": str(workspace.pk),
            "subscription_data[trial_end]": trial_end,
            "metadata[workspace_id]": str(workspace.pk),
            "success_url": "http://testserver/billing/checkout/return/"
            "?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://testserver/billing/",
        }
    ]
    assert stripe_fake.requests[0].headers["authorization"] == f"Bearer {stripe_fake.api_key}"
    assert stripe_fake.requests[0].headers["idempotency-key"].startswith("trupeo-customer-")


def test_the_customer_is_created_once_and_reused(stripe_fake, alice_client, workspace):
    alice_client.post("/billing/checkout/", {"plan": "monthly"})
    alice_client.post("/billing/checkout/", {"plan": "monthly"})

    assert len(stripe_fake.calls("POST", "/v1/customers")) == 1
    sessions = stripe_fake.calls("POST", "/v1/checkout/sessions")
    assert len(sessions) == 2
    assert sessions[0]["customer"] == sessions[1]["customer"] == _sub(workspace).stripe_customer_id
    assert sessions[0]["line_items[0][price]"] == PRICE_MONTHLY


def test_a_trial_almost_over_is_not_carried_into_stripe(stripe_fake, alice_client, workspace):
    # Stripe refuses a trial ending within 48 hours: the subscription starts paid at once.
    Subscription.objects.filter(workspace=workspace).update(
        trial_ends_at=timezone.now() + timedelta(days=1)
    )
    alice_client.post("/billing/checkout/", {"plan": "monthly"})
    (session,) = stripe_fake.calls("POST", "/v1/checkout/sessions")
    assert "subscription_data[trial_end]" not in session


def test_an_unknown_plan_is_refused_in_words(stripe_fake, alice_client):
    response = alice_client.post("/billing/checkout/", {"plan": "lifetime"}, follow=True)
    assert "This plan is not available." in response.content.decode()
    assert stripe_fake.requests == []


def test_a_live_subscription_goes_to_the_portal_not_a_new_checkout(
    stripe_fake, subscribed, alice_client, workspace
):
    response = alice_client.post("/billing/checkout/", {"plan": "monthly"}, follow=True)
    assert response.redirect_chain[-1][0] == "/billing/"
    assert stripe_fake.calls("POST", "/v1/checkout/sessions") == []
    page = response.content.decode()
    assert 'action="/billing/portal/"' in page
    assert 'action="/billing/checkout/"' not in page


def test_stripe_down_says_so_and_changes_nothing(stripe_fake, alice_client, workspace):
    stripe_fake.unavailable = True
    response = alice_client.post("/billing/checkout/", {"plan": "monthly"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/billing/"
    assert b"toast-error" in response.content
    subscription = _sub(workspace)
    assert (subscription.stripe_customer_id, subscription.status) == ("", Status.TRIALING)


def test_portal_sends_exactly_these_parameters(stripe_fake, customer, alice_client):
    response = alice_client.post("/billing/portal/")
    session = next(iter(stripe_fake.portal_sessions.values()))
    assert response.status_code == 302 and response.url == session["url"]
    assert stripe_fake.calls("POST", "/v1/billing_portal/sessions") == [
        {"customer": customer, "return_url": "http://testserver/billing/", "locale": "fr"}
    ]


def test_portal_without_a_customer_explains(stripe_fake, alice_client):
    response = alice_client.post("/billing/portal/", follow=True)
    assert response.redirect_chain[-1][0] == "/billing/"
    assert stripe_fake.requests == []


def test_return_from_checkout_shows_the_billing_page(stripe_fake, alice_client):
    response = alice_client.get("/billing/checkout/return/?session_id=cs_test_x", follow=True)
    assert response.redirect_chain[-1][0] == "/billing/"
    assert b"toast-success" in response.content


def test_billing_off_is_a_clear_note(settings, alice_client, workspace):
    settings.STRIPE_SECRET_KEY = ""
    page = alice_client.get("/billing/").content.decode()
    assert "Billing is switched off on this server" in page
    assert 'action="/billing/checkout/"' not in page
    response = alice_client.post("/billing/checkout/", {"plan": "monthly"}, follow=True)
    assert response.redirect_chain[-1][0] == "/billing/"


def test_a_failed_checkout_keeps_the_customer_it_created(stripe_fake, alice_client, workspace):
    stripe_fake.failing.add("/v1/checkout/sessions")
    alice_client.post("/billing/checkout/", {"plan": "monthly"})
    customer_id = _sub(workspace).stripe_customer_id
    assert customer_id in stripe_fake.customers

    stripe_fake.failing.clear()
    alice_client.post("/billing/checkout/", {"plan": "monthly"})
    assert len(stripe_fake.calls("POST", "/v1/customers")) == 1
    assert stripe_fake.calls("POST", "/v1/checkout/sessions")[-1]["customer"] == customer_id


def test_a_renamed_workspace_renames_its_billing_snapshot(stripe_fake, workspace):
    workspace.name = "Lycée Jules Verne de Nantes"
    workspace.save()
    assert _sub(workspace).workspace_name == "Lycée Jules Verne de Nantes"
