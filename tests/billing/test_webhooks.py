"""Stripe's webhook: only genuine, fresh events change anything, each once, in any order."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice, Status, StripeEvent, Subscription
from tests.billing.conftest import WEBHOOK, post_event
from tests.parts.stripe_fake import PRICE_MONTHLY, PRICE_YEARLY, sign

pytestmark = pytest.mark.django_db


def _sub(workspace) -> Subscription:
    return Subscription.objects.get(workspace=workspace)


def _checkout_event(fake, customer, workspace, sub):
    session = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": customer,
        "subscription": sub["id"],
        "client_reference_id": str(workspace.pk),
        "status": "complete",
    }
    return fake.event("checkout.session.completed", session)


def test_checkout_completed_activates_the_plan(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer, price=PRICE_YEARLY, quantity=3)
    event = _checkout_event(stripe_fake, customer, workspace, sub)

    response = post_event(client, event)

    assert response.status_code == 200
    subscription = _sub(workspace)
    assert subscription.status == Status.ACTIVE
    assert subscription.stripe_subscription_id == sub["id"]
    assert subscription.stripe_item_id == sub["items"]["data"][0]["id"]
    assert (subscription.plan, subscription.seats, subscription.period_seats) == ("yearly", 3, 3)
    assert (
        subscription.current_period_end.timestamp()
        == (sub["items"]["data"][0]["current_period_end"])
    )
    record = StripeEvent.objects.get(event_id=event["id"])
    assert record.processed_at is not None and record.subscription == subscription
    assert record.type == "checkout.session.completed"
    # The state was read back from Stripe, not taken from the event.
    assert stripe_fake.calls("GET", f"/v1/subscriptions/{sub['id']}") == [{}]


def test_a_replayed_event_changes_nothing(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer, quantity=2)
    event = stripe_fake.event("customer.subscription.updated", sub)
    assert post_event(client, event).status_code == 200
    stripe_fake.requests.clear()
    # Meanwhile the local row is changed by hand: a replay must not touch it.
    Subscription.objects.filter(workspace=workspace).update(seats=7)

    response = post_event(client, event)

    assert response.status_code == 200
    assert response.content == b"already received"
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert stripe_fake.api_requests() == []
    assert _sub(workspace).seats == 7


def test_events_out_of_order_end_in_the_current_state(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer, quantity=2)
    created = stripe_fake.event("customer.subscription.created", sub, created=1000)
    sub["items"]["data"][0]["quantity"] = 4
    updated = stripe_fake.event("customer.subscription.updated", sub, created=1001)
    sub.update(status="canceled", canceled_at=int(time.time()))
    deleted = stripe_fake.event("customer.subscription.deleted", sub, created=1002)

    # Stripe delivers the last first, then the older ones.
    for event in (deleted, updated, created):
        assert post_event(client, event).status_code == 200

    subscription = _sub(workspace)
    assert subscription.status == Status.CANCELED
    assert subscription.seats == 4
    assert workspace.__class__.objects.get(pk=workspace.pk).is_read_only
    assert StripeEvent.objects.count() == 3


def test_a_stale_snapshot_never_overrides_the_current_state(
    stripe_fake, customer, workspace, client
):
    sub = stripe_fake.subscription_create(customer=customer, quantity=1)
    old = stripe_fake.event("customer.subscription.updated", dict(sub, status="past_due"))
    # By the time the old event arrives, the subscription is active again at Stripe.
    assert post_event(client, old).status_code == 200
    subscription = _sub(workspace)
    assert subscription.status == Status.ACTIVE
    assert subscription.past_due_since is None


def test_late_events_of_an_old_subscription_are_ignored(stripe_fake, customer, workspace, client):
    old = stripe_fake.subscription_create(customer=customer, quantity=1)
    assert (
        post_event(client, stripe_fake.event("customer.subscription.created", old)).status_code
        == 200
    )
    stripe_fake._api("DELETE", f"/v1/subscriptions/{old['id']}", {})
    assert (
        post_event(client, stripe_fake.event("customer.subscription.deleted", old)).status_code
        == 200
    )
    new = stripe_fake.subscription_create(customer=customer, quantity=2)
    assert (
        post_event(client, stripe_fake.event("customer.subscription.created", new)).status_code
        == 200
    )
    assert _sub(workspace).stripe_subscription_id == new["id"]

    # A late update of the old, canceled one.
    assert (
        post_event(client, stripe_fake.event("customer.subscription.updated", old)).status_code
        == 200
    )

    subscription = _sub(workspace)
    assert (subscription.stripe_subscription_id, subscription.status) == (new["id"], "active")
    assert subscription.seats == 2


def _refused(stripe_fake, workspace, response):
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert stripe_fake.api_requests() == []
    subscription = _sub(workspace)
    assert (subscription.status, subscription.stripe_subscription_id) == (Status.TRIALING, "")


def test_wrong_secret_is_refused(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer)
    event = _checkout_event(stripe_fake, customer, workspace, sub)
    _refused(stripe_fake, workspace, post_event(client, event, secret="whsec_someone_else"))


def test_stale_timestamp_is_refused(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer)
    event = _checkout_event(stripe_fake, customer, workspace, sub)
    ten_minutes_ago = int(time.time()) - 600
    _refused(stripe_fake, workspace, post_event(client, event, timestamp=ten_minutes_ago))


def test_tampered_body_is_refused(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer)
    event = _checkout_event(stripe_fake, customer, workspace, sub)
    body = json.dumps(event).encode()
    signature = sign(body)
    tampered = body.replace(b'"cs_test_1"', b'"cs_test_2"')
    response = client.post(
        WEBHOOK, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    _refused(stripe_fake, workspace, response)


@pytest.mark.parametrize(
    "body, signature",
    [
        (b"\x00\xffnot json at all", "sign"),  # signed garbage
        (b"{}", "sign"),  # signed, but not an event
        (b'{"id": "evt_1"}', None),  # no signature at all
        (b'{"id": "evt_1"}', "t=abc,v1=zzz"),  # a signature header that is garbage
        (b'{"id": "evt_1"}', "v1=" + "0" * 64),  # no timestamp
    ],
)
def test_garbage_is_refused(stripe_fake, customer, workspace, client, body, signature):
    headers = {}
    if signature == "sign":
        headers["HTTP_STRIPE_SIGNATURE"] = sign(body)
    elif signature:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    response = client.post(WEBHOOK, data=body, content_type="application/json", **headers)
    _refused(stripe_fake, workspace, response)


def test_get_is_not_allowed(stripe_fake, client):
    assert client.get(WEBHOOK).status_code == 405


def test_billing_off_refuses_every_event(settings, client, workspace):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = post_event(client, {"id": "evt_1", "type": "invoice.paid", "data": {"object": {}}})
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


def test_stripe_unreachable_keeps_nothing_and_the_retry_works(
    stripe_fake, customer, workspace, client
):
    sub = stripe_fake.subscription_create(customer=customer, quantity=2)
    event = stripe_fake.event("customer.subscription.created", sub)
    stripe_fake.unavailable = True

    response = post_event(client, event)

    assert response.status_code == 503  # Stripe will deliver it again
    assert StripeEvent.objects.count() == 0
    assert _sub(workspace).status == Status.TRIALING

    stripe_fake.unavailable = False
    assert post_event(client, event).status_code == 200
    assert _sub(workspace).status == Status.ACTIVE
    assert StripeEvent.objects.get().event_id == event["id"]


def test_an_unknown_customer_is_recorded_and_ignored(stripe_fake, workspace, client):
    stripe_fake.customers["cus_nobody"] = {"id": "cus_nobody"}
    sub = stripe_fake.subscription_create(customer="cus_nobody")
    response = post_event(client, stripe_fake.event("customer.subscription.updated", sub))
    assert response.status_code == 200
    assert StripeEvent.objects.get().outcome == "ignored: unknown customer"
    assert _sub(workspace).status == Status.TRIALING


def test_an_unhandled_type_is_recorded(stripe_fake, client, db):
    response = post_event(client, stripe_fake.event("customer.created", {"id": "cus_1"}))
    assert response.status_code == 200
    assert StripeEvent.objects.get().outcome == "ignored: not handled"


def test_invoice_paid_is_mirrored(stripe_fake, subscribed, workspace, client):
    invoice = stripe_fake.invoice_create(subscription=subscribed)

    assert post_event(client, stripe_fake.event("invoice.paid", invoice)).status_code == 200

    local = Invoice.objects.get()
    assert local.workspace == workspace
    assert (local.number, local.status, local.currency) == (invoice["number"], "paid", "EUR")
    assert (local.amount_excl_tax, local.tax, local.total) == (900, 180, 1080)
    assert local.amount_paid == 1080
    assert local.customer_vat_number == "FR40303265045"
    assert local.pdf_url == invoice["invoice_pdf"]
    assert local.hosted_invoice_url == invoice["hosted_invoice_url"]
    assert local.issued_at.timestamp() == invoice["effective_at"]
    assert local.paid_at is not None
    assert (local.workspace_name, local.workspace_slug) == (workspace.name, workspace.slug)
    assert local.keep_until - local.issued_at >= timedelta(days=3652)
    assert stripe_fake.calls("GET", f"/v1/invoices/{invoice['id']}") == [{}]


def test_payment_failed_starts_the_grace_period(stripe_fake, subscribed, workspace, client):
    invoice = stripe_fake.invoice_create(subscription=subscribed, status="open")
    subscribed["status"] = "past_due"

    response = post_event(client, stripe_fake.event("invoice.payment_failed", invoice))

    assert response.status_code == 200
    subscription = _sub(workspace)
    assert subscription.status == Status.PAST_DUE
    assert subscription.past_due_since is not None
    assert Invoice.objects.get().status == "open"
    workspace.refresh_from_db()
    assert not workspace.is_read_only  # the grace period first

    # The card is updated, Stripe pays the invoice: back to active, nothing lost.
    invoice.update(status="paid", amount_paid=invoice["total"])
    subscribed["status"] = "active"
    assert post_event(client, stripe_fake.event("invoice.paid", invoice)).status_code == 200
    subscription = _sub(workspace)
    assert (subscription.status, subscription.past_due_since) == (Status.ACTIVE, None)
    assert Invoice.objects.get().status == "paid"


def test_the_event_payload_is_not_kept(stripe_fake, subscribed, workspace, client):
    # Names and addresses stay at Stripe: only the event's identity is stored.
    invoice = stripe_fake.invoice_create(subscription=subscribed)
    post_event(client, stripe_fake.event("invoice.paid", invoice))
    fields = {f.name for f in StripeEvent._meta.get_fields()}
    assert not fields & {"payload", "data", "body"}
    assert StripeEvent.objects.get(type="invoice.paid").object_id == invoice["id"]


def test_timestamps_are_compared_with_now(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer)
    event = _checkout_event(stripe_fake, customer, workspace, sub)
    four_minutes_ago = int(timezone.now().timestamp()) - 240
    assert post_event(client, event, timestamp=four_minutes_ago).status_code == 200
    assert _sub(workspace).status == Status.ACTIVE


def test_price_decides_the_plan(stripe_fake, customer, workspace, client):
    sub = stripe_fake.subscription_create(customer=customer, price=PRICE_MONTHLY)
    post_event(client, stripe_fake.event("customer.subscription.created", sub))
    assert _sub(workspace).plan == "monthly"


def test_invoices_of_unknown_customers_are_not_kept(stripe_fake, workspace, client):
    stripe_fake.customers["cus_other"] = {"id": "cus_other"}
    sub = stripe_fake.subscription_create(customer="cus_other")
    invoice = stripe_fake.invoice_create(subscription=sub)
    assert post_event(client, stripe_fake.event("invoice.paid", invoice)).status_code == 200
    assert Invoice.objects.count() == 0
    assert StripeEvent.objects.get().outcome == "ignored: unknown customer"


def test_a_subscription_gone_at_stripe_is_recorded_not_retried(
    stripe_fake, customer, workspace, client
):
    sub = stripe_fake.subscription_create(customer=customer)
    del stripe_fake.subscriptions[sub["id"]]
    response = post_event(client, stripe_fake.event("customer.subscription.updated", sub))
    assert response.status_code == 200
    assert StripeEvent.objects.get().outcome == "ignored: subscription not found at Stripe"
    assert _sub(workspace).status == Status.TRIALING


def test_a_checkout_naming_another_workspace_changes_nothing(
    stripe_fake, customer, workspace, client, charlie
):
    other = charlie.memberships.get().workspace
    sub = stripe_fake.subscription_create(customer=customer)
    event = _checkout_event(stripe_fake, customer, other, sub)
    assert post_event(client, event).status_code == 200
    assert StripeEvent.objects.get().outcome == "ignored: workspace mismatch"
    assert _sub(workspace).status == _sub(other).status == Status.TRIALING
    assert stripe_fake.api_requests() == []
