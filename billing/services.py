"""Writes with side effects: the trial, checkout and portal sessions, seats, cancellation.

Each call to Stripe happens with the workspace's subscription row locked, so two requests
(or a request and a webhook) never act on a stale copy of it.
"""

import logging
from datetime import timedelta

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User, Workspace
from billing.models import Status, Subscription
from billing.states import LIVE, is_local_trial, price_for_plan, subscription_apply
from billing.stripe_api import BillingError, billing_enabled, stripe_client

logger = logging.getLogger(__name__)

# Stripe refuses a subscription trial that ends less than 48 hours from now.
MIN_STRIPE_TRIAL = timedelta(days=2, minutes=5)


def trial_start(*, workspace: Workspace) -> Subscription:
    """The free trial, without a card, from the workspace's creation."""
    subscription, _created = Subscription.objects.get_or_create(
        workspace=workspace,
        defaults={
            "workspace_name": workspace.name,
            "workspace_slug": workspace.slug,
            "status": Status.TRIALING,
            "trial_ends_at": workspace.created_at + timedelta(days=settings.BILLING_TRIAL_DAYS),
        },
    )
    return subscription


def subscription_for(workspace: Workspace) -> Subscription:
    """The workspace's subscription (a workspace created before billing starts its trial)."""
    subscription = Subscription.objects.filter(workspace=workspace).first()
    return subscription or trial_start(workspace=workspace)


def seat_count(workspace_id: int) -> int:
    return max(1, Membership.objects.filter(workspace_id=workspace_id).count())


def _locked(workspace: Workspace) -> Subscription:
    subscription_for(workspace)
    return Subscription.objects.select_for_update().get(workspace=workspace)


def _require_enabled() -> None:
    if not billing_enabled():
        raise BillingError(_("Billing is not set up on this server."))


def _stripe_failed(error: stripe.StripeError) -> BillingError:
    # Stripe's own message may name the customer: logged by type only.
    logger.warning("Stripe call failed: %s (%s)", type(error).__name__, error.http_status)
    return BillingError(_("Stripe could not be reached or refused the request. Try again."))


def _customer_ensure(subscription: Subscription, workspace: Workspace, user: User) -> str:
    """The workspace's Stripe customer, created once and reused."""
    if subscription.stripe_customer_id:
        return subscription.stripe_customer_id
    customer = stripe_client().v1.customers.create(
        params={
            "name": workspace.name,
            "email": user.email,
            "preferred_locales": ["fr"],
            "metadata": {"workspace_id": str(workspace.pk), "workspace_slug": workspace.slug},
        },
        # A retry of this very creation (a double click, a network error) gets the same one.
        options={"idempotency_key": f"trupeo-customer-{subscription.pk}"},
    )
    subscription.stripe_customer_id = customer.id
    subscription.save(update_fields=["stripe_customer_id", "updated_at"])
    return customer.id


def checkout_session_create(
    *, workspace: Workspace, user: User, plan: str, success_url: str, cancel_url: str
) -> str:
    """A Stripe Checkout page for the plan, one seat per member; returns its URL."""
    _require_enabled()
    price = price_for_plan(plan)
    if not price:
        raise BillingError(_("This plan is not available."))
    try:
        # The customer is committed on its own: a checkout that fails afterwards must not
        # forget a customer that exists at Stripe.
        with transaction.atomic():
            subscription = _locked(workspace)
            if subscription.stripe_subscription_id and subscription.status in LIVE:
                raise BillingError(
                    _(
                        "This workspace already has a subscription: manage it from the "
                        "customer portal."
                    )
                )
            customer = _customer_ensure(subscription, workspace, user)
        subscription_data: dict = {"metadata": {"workspace_id": str(workspace.pk)}}
        if is_local_trial(subscription) and (
            subscription.trial_ends_at - timezone.now() > MIN_STRIPE_TRIAL
        ):
            # Subscribing early does not shorten the free trial: the first charge waits.
            subscription_data["trial_end"] = int(subscription.trial_ends_at.timestamp())
        session = stripe_client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer,
                "client_reference_id": str(workspace.pk),
                "line_items": [{"price": price, "quantity": seat_count(workspace.pk)}],
                "billing_address_collection": "required",
                "tax_id_collection": {"enabled": True},
                # The address and VAT number typed at checkout go on the customer's invoices.
                "customer_update": {"address": "auto", "name": "auto"},
                "automatic_tax": {"enabled": settings.STRIPE_AUTOMATIC_TAX},
                "locale": "fr",
                "subscription_data": subscription_data,
                "metadata": {"workspace_id": str(workspace.pk)},
                "success_url": success_url,
                "cancel_url": cancel_url,
            }
        )
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    return session.url


@transaction.atomic
def portal_session_create(*, workspace: Workspace, return_url: str) -> str:
    """Stripe's customer portal (cards, invoices, plan, cancellation); returns its URL."""
    _require_enabled()
    subscription = _locked(workspace)
    if not subscription.stripe_customer_id:
        raise BillingError(_("Choose a plan first: there is nothing to manage yet."))
    try:
        session = stripe_client().v1.billing_portal.sessions.create(
            params={
                "customer": subscription.stripe_customer_id,
                "return_url": return_url,
                "locale": "fr",
            }
        )
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    return session.url


def _quantity_steps(subscription: Subscription, wanted: int) -> list[tuple[int, str]]:
    """The quantity changes to send, each with its proration behaviour.

    More seats than were paid for this period are charged pro rata at once; seats already
    paid this period (a member removed, then someone added) are not charged twice; fewer
    seats take effect at the next period, without a credit for the current one.
    """
    if wanted == subscription.seats:
        return []
    if wanted < subscription.seats:
        return [(wanted, "none")]
    steps = []
    paid = subscription.period_seats
    if subscription.seats < paid:
        steps.append((min(wanted, paid), "none"))
    if wanted > paid:
        steps.append((wanted, "create_prorations"))
    return steps


@transaction.atomic
def seats_sync(*, workspace_id: int) -> int | None:
    """Make the Stripe quantity follow the number of members; returns the new quantity."""
    if not billing_enabled():
        return None
    subscription = (
        Subscription.objects.select_for_update().filter(workspace_id=workspace_id).first()
    )
    if subscription is None or not subscription.stripe_subscription_id:
        return None  # on trial: checkout will count the members
    if subscription.status not in LIVE or not subscription.stripe_item_id:
        return None
    wanted = seat_count(workspace_id)
    updated = None
    for quantity, proration in _quantity_steps(subscription, wanted):
        updated = (
            stripe_client()
            .v1.subscriptions.update(
                subscription.stripe_subscription_id,
                params={
                    "items": [{"id": subscription.stripe_item_id, "quantity": quantity}],
                    "proration_behavior": proration,
                },
            )
            .to_dict()
        )
    if updated is None:
        return subscription.seats
    subscription_apply(subscription=subscription, stripe_subscription=updated)
    return subscription.seats


def subscription_cancel(*, subscription_id: int) -> bool:
    """Cancel at once the Stripe subscription of a deleted workspace (no more charges)."""
    if not billing_enabled():
        return False
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        if not subscription.stripe_subscription_id or subscription.status in (
            Status.CANCELED,
            Status.INCOMPLETE_EXPIRED,
        ):
            return False
        canceled = (
            stripe_client().v1.subscriptions.cancel(subscription.stripe_subscription_id).to_dict()
        )
        subscription_apply(subscription=subscription, stripe_subscription=canceled)
    return True
