"""What a subscription's state means for its workspace: writable, in grace, or read-only.

Read-only is stored on the workspace (`Workspace.read_only_since`) so that inbox reads it
without importing billing. It is recomputed after every change from Stripe and every 15
minutes (trials and grace periods end without any event).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Workspace
from billing.models import Plan, Status, Subscription
from billing.stripe_api import billing_enabled, from_timestamp

# A paid subscription that still gives full use.
LIVE = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE)
# A subscription that is over: a new checkout replaces it.
ENDED = (Status.CANCELED, Status.INCOMPLETE_EXPIRED)


def grace_ends_at(subscription: Subscription) -> datetime | None:
    if subscription.past_due_since is None:
        return None
    return subscription.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)


def is_local_trial(subscription: Subscription) -> bool:
    """Our own trial without a card (a Stripe subscription may be trialing too)."""
    return subscription.status == Status.TRIALING and not subscription.stripe_subscription_id


def should_be_read_only(subscription: Subscription, now: datetime | None = None) -> bool:
    if not billing_enabled():
        return False
    now = now or timezone.now()
    status = subscription.status
    if is_local_trial(subscription) or status == Status.INCOMPLETE:
        # A first payment still pending keeps the trial's window, no more.
        return now >= subscription.trial_ends_at
    if status in (Status.ACTIVE, Status.TRIALING):
        return False
    if status == Status.PAST_DUE:
        ends = grace_ends_at(subscription)
        return ends is not None and now >= ends
    return True  # canceled, unpaid, incomplete_expired, paused


def access_refresh(*, subscription: Subscription, now: datetime | None = None) -> bool:
    """Bring the workspace's read-only flag in line with its subscription; returns it."""
    if subscription.workspace_id is None:
        return False
    now = now or timezone.now()
    read_only = should_be_read_only(subscription, now)
    workspaces = Workspace.objects.filter(pk=subscription.workspace_id)
    if read_only:
        # The first moment it became read-only is kept.
        workspaces.filter(read_only_since__isnull=True).update(read_only_since=now)
    else:
        workspaces.filter(read_only_since__isnull=False).update(read_only_since=None)
    return read_only


def read_only_q(now: datetime) -> Q:
    """`should_be_read_only` as a filter on subscriptions, for all workspaces at once."""
    grace = timedelta(days=settings.BILLING_GRACE_DAYS)
    local_trial = Q(status=Status.TRIALING, stripe_subscription_id="")
    return (
        ((local_trial | Q(status=Status.INCOMPLETE)) & Q(trial_ends_at__lte=now))
        | Q(status=Status.PAST_DUE, past_due_since__lte=now - grace)
        | ~Q(status__in=[Status.TRIALING, Status.INCOMPLETE, Status.ACTIVE, Status.PAST_DUE])
    )


def access_refresh_all() -> int:
    """Every workspace's flag in two queries; with billing off, none stays read-only.
    Returns how many workspaces changed."""
    flagged = Workspace.objects.filter(read_only_since__isnull=False)
    if not billing_enabled():
        return flagged.update(read_only_since=None)
    now = timezone.now()
    due = Subscription.objects.filter(read_only_q(now), workspace__isnull=False)
    locked = Workspace.objects.filter(
        read_only_since__isnull=True, pk__in=due.values("workspace_id")
    ).update(read_only_since=now)
    freed = flagged.exclude(pk__in=due.values("workspace_id")).update(read_only_since=None)
    return locked + freed


def plan_for_price(price_id: str) -> str:
    if price_id and price_id == settings.STRIPE_PRICE_MONTHLY:
        return Plan.MONTHLY
    if price_id and price_id == settings.STRIPE_PRICE_YEARLY:
        return Plan.YEARLY
    return ""


def price_for_plan(plan: str) -> str:
    return {
        Plan.MONTHLY: settings.STRIPE_PRICE_MONTHLY,
        Plan.YEARLY: settings.STRIPE_PRICE_YEARLY,
    }.get(plan, "")


@dataclass(frozen=True)
class StripeState:
    """The fields of a Stripe subscription that we keep (read from its current state)."""

    id: str
    customer: str
    status: str
    item_id: str
    price_id: str
    quantity: int
    period_start: datetime | None
    period_end: datetime | None
    cancel_at_period_end: bool

    @classmethod
    def of(cls, stripe_subscription) -> "StripeState":
        items = stripe_subscription["items"]["data"]
        item = items[0] if items else None
        customer = stripe_subscription["customer"]
        return cls(
            id=stripe_subscription["id"],
            customer=customer if isinstance(customer, str) else customer["id"],
            status=stripe_subscription["status"],
            item_id=item["id"] if item else "",
            price_id=item["price"]["id"] if item else "",
            quantity=int(item.get("quantity") or 0) if item else 0,
            period_start=from_timestamp(item.get("current_period_start")) if item else None,
            period_end=from_timestamp(item.get("current_period_end")) if item else None,
            cancel_at_period_end=bool(stripe_subscription.get("cancel_at_period_end")),
        )


def adopts(subscription: Subscription, state: StripeState) -> bool:
    """Whether this Stripe subscription is (or should become) the workspace's one.

    An old subscription's late events must not override a newer one: a different id is taken
    only when the one we have is over, or when it is not live and the new one is.
    """
    current = subscription.stripe_subscription_id
    if not current or current == state.id:
        return True
    if subscription.status in ENDED:
        return True
    return subscription.status not in LIVE and state.status in LIVE


@transaction.atomic
def subscription_apply(*, subscription: Subscription, stripe_subscription) -> bool:
    """Record a Stripe subscription's current state; False if it is not this workspace's."""
    state = StripeState.of(stripe_subscription)
    if not adopts(subscription, state):
        return False
    now = timezone.now()
    subscription.stripe_subscription_id = state.id
    subscription.stripe_item_id = state.item_id
    if state.price_id:
        subscription.plan = plan_for_price(state.price_id) or subscription.plan
    if state.period_start != subscription.current_period_start:
        subscription.period_seats = state.quantity  # a new period: paid for what it bills
    else:
        subscription.period_seats = max(subscription.period_seats, state.quantity)
    subscription.seats = state.quantity
    subscription.current_period_start = state.period_start
    subscription.current_period_end = state.period_end
    subscription.cancel_at_period_end = state.cancel_at_period_end
    status = state.status if state.status in Status.values else Status.UNPAID
    if status == Status.PAST_DUE:
        subscription.past_due_since = subscription.past_due_since or now
    else:
        subscription.past_due_since = None
    subscription.status = status
    subscription.synced_at = now
    subscription.save()
    access_refresh(subscription=subscription, now=now)
    return True
