"""Stripe webhooks: verified, stored by id, processed once, safe in any order.

An event is only a hint that something changed: each handler reads the object's current
state back from Stripe and records that, so an event replayed, late or out of order can
only ever write the latest state. The event row and its effects commit together; if a
handler fails, nothing is kept and Stripe delivers the event again later.
"""

import logging
from collections.abc import Callable

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.invoices import invoice_mirror, invoice_subscription_id
from billing.models import StripeEvent, Subscription
from billing.states import subscription_apply
from billing.stripe_api import from_timestamp, stripe_client

logger = logging.getLogger(__name__)

# Stripe's own default: a signature older than 5 minutes is a replay.
TOLERANCE_SECONDS = 300


class WebhookRefused(Exception):
    """Not a genuine, fresh event from Stripe."""


def event_verify(payload: bytes, signature: str | None) -> stripe.Event:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRefused("no webhook secret configured")
    if not signature:
        raise WebhookRefused("no signature")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as error:
        raise WebhookRefused("bad signature or timestamp") from error
    except ValueError as error:  # not UTF-8 or not JSON
        raise WebhookRefused("malformed payload") from error
    data = event.to_dict()
    if not (
        isinstance(data.get("id"), str)
        and isinstance(data.get("type"), str)
        and isinstance(data.get("created"), int)
        and isinstance((data.get("data") or {}).get("object"), dict)
    ):
        raise WebhookRefused("not an event")
    return event


def _id(value) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else value.get("id", "")


def _locked_by_customer(customer_id: str) -> Subscription | None:
    if not customer_id:
        return None
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .filter(stripe_customer_id=customer_id)
        .first()
    )


def _sync_subscription(subscription: Subscription, stripe_subscription_id: str) -> str:
    try:
        current = stripe_client().v1.subscriptions.retrieve(stripe_subscription_id).to_dict()
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise
        # Gone at Stripe (a test-mode purge): retrying the event would never succeed.
        return "ignored: subscription not found at Stripe"
    if subscription_apply(subscription=subscription, stripe_subscription=current):
        return f"subscription {current['status']}, {subscription.seats} seats"
    return "ignored: not the workspace's current subscription"


Handler = Callable[[dict, StripeEvent], str]


def _checkout_completed(session: dict, record: StripeEvent) -> str:
    if session.get("mode") != "subscription" or not session.get("subscription"):
        return "ignored: not a subscription checkout"
    subscription = _locked_by_customer(_id(session.get("customer")))
    if subscription is None:
        return "ignored: unknown customer"
    record.subscription = subscription
    if session.get("client_reference_id") not in (None, "", str(subscription.workspace_id)):
        logger.warning("event %s: checkout for another workspace, ignored", record.event_id)
        return "ignored: workspace mismatch"
    return _sync_subscription(subscription, _id(session["subscription"]))


def _subscription_changed(stripe_subscription: dict, record: StripeEvent) -> str:
    subscription = _locked_by_customer(_id(stripe_subscription.get("customer")))
    if subscription is None:
        return "ignored: unknown customer"
    record.subscription = subscription
    return _sync_subscription(subscription, stripe_subscription["id"])


def _invoice_changed(stripe_invoice: dict, record: StripeEvent) -> str:
    subscription = _locked_by_customer(_id(stripe_invoice.get("customer")))
    if subscription is None:
        return "ignored: unknown customer"  # another product on the same Stripe account
    record.subscription = subscription
    current = stripe_client().v1.invoices.retrieve(stripe_invoice["id"]).to_dict()
    invoice = invoice_mirror(stripe_invoice=current, subscription=subscription)
    outcome = f"invoice {invoice.number or invoice.stripe_invoice_id} {invoice.status}"
    subscription_id = invoice_subscription_id(current)
    if subscription_id:
        outcome += "; " + _sync_subscription(subscription, subscription_id)
    return outcome


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "invoice.paid": _invoice_changed,
    "invoice.payment_failed": _invoice_changed,
}


def event_process(event: stripe.Event) -> StripeEvent | None:
    """Store and handle a verified event; None if it was already received."""
    event = event.to_dict()  # plain data from here on
    obj = event["data"]["object"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(
                    event_id=event["id"],
                    type=event["type"],
                    object_id=_id(obj.get("id")),
                    stripe_created=from_timestamp(event["created"]) or timezone.now(),
                    livemode=bool(event.get("livemode")),
                )
        except IntegrityError:
            return None  # a replay, or the same event delivered twice at once
        handler = HANDLERS.get(event["type"])
        record.outcome = handler(obj, record)[:255] if handler else "ignored: not handled"
        record.processed_at = timezone.now()
        record.save(update_fields=["outcome", "processed_at", "subscription"])
    logger.info("stripe event %s %s: %s", record.event_id, record.type, record.outcome)
    return record
