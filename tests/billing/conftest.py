"""Billing switched on against the local Stripe fake, and helpers to deliver its events."""

import json

import pytest

from billing.models import Subscription
from tests.parts.stripe_fake import sign, stripe_fake  # noqa: F401

WEBHOOK = "/billing/stripe/webhook/"


def post_event(client, event: dict, *, secret=None, timestamp=None, body: bytes | None = None):
    """Deliver an event to the webhook, signed the way Stripe signs it."""
    payload = body if body is not None else json.dumps(event).encode()
    kwargs = {} if secret is None else {"secret": secret}
    signature = sign(payload, timestamp=timestamp, **kwargs)
    return client.post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


@pytest.fixture
def customer(stripe_fake, workspace, alice):  # noqa: F811
    """Alice's workspace with its Stripe customer (as after a first checkout page)."""
    created = stripe_fake._api(
        "POST", "/v1/customers", {"name": workspace.name, "email": alice.email}
    )[1]
    Subscription.objects.filter(workspace=workspace).update(stripe_customer_id=created["id"])
    return created["id"]


@pytest.fixture
def subscribed(stripe_fake, customer, workspace, client):  # noqa: F811
    """Alice's workspace paying for one seat, monthly, as after checkout and its events."""
    sub = stripe_fake.subscription_create(customer=customer, quantity=1)
    response = post_event(client, stripe_fake.event("customer.subscription.created", sub))
    assert response.status_code == 200
    stripe_fake.requests.clear()
    return sub


@pytest.fixture
def alice_client(alice, workspace):
    """Alice, reading in English: the pages' words are the source strings, whatever the
    state of the French catalogue."""
    from django.test import Client

    alice.language = "en"
    alice.save(update_fields=["language"])
    client = Client()
    client.force_login(alice)
    return client
