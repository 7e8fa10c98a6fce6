"""Seats follow membership: more members are charged pro rata at once, fewer from the next
period, and a seat already paid this period is not charged twice."""

import pytest

from accounts import services as accounts
from accounts import workspace_lists
from billing.models import Subscription
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def _updates(fake, sub):
    return fake.calls("POST", f"/v1/subscriptions/{sub['id']}")


def _item(sub):
    return sub["items"]["data"][0]


def test_adding_a_member_adds_a_prorated_seat(
    stripe_fake, subscribed, workspace, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_member(workspace, UserFactory())

    assert _updates(stripe_fake, subscribed) == [
        {
            "items[0][id]": _item(subscribed)["id"],
            "items[0][quantity]": "2",
            "proration_behavior": "create_prorations",
        }
    ]
    assert _item(subscribed)["quantity"] == 2
    subscription = Subscription.objects.get(workspace=workspace)
    assert (subscription.seats, subscription.period_seats) == (2, 2)


def test_removing_a_member_lowers_the_seats_from_the_next_period(
    stripe_fake, subscribed, workspace, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bob = add_member(workspace, UserFactory())
    stripe_fake.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        accounts.member_remove(membership=bob)

    assert _updates(stripe_fake, subscribed) == [
        {
            "items[0][id]": _item(subscribed)["id"],
            "items[0][quantity]": "1",
            "proration_behavior": "none",
        }
    ]
    subscription = Subscription.objects.get(workspace=workspace)
    assert (subscription.seats, subscription.period_seats) == (1, 2)

    # Someone joins again within the period: that seat was paid, it is not charged twice.
    stripe_fake.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        add_member(workspace, UserFactory())
    assert _updates(stripe_fake, subscribed) == [
        {
            "items[0][id]": _item(subscribed)["id"],
            "items[0][quantity]": "2",
            "proration_behavior": "none",
        }
    ]

    # And one more beyond what was paid: that one is charged.
    stripe_fake.requests.clear()
    with django_capture_on_commit_callbacks(execute=True):
        add_member(workspace, UserFactory())
    assert [u["proration_behavior"] for u in _updates(stripe_fake, subscribed)] == [
        "create_prorations"
    ]
    assert _item(subscribed)["quantity"] == 3


def test_a_new_period_resets_what_was_paid(
    stripe_fake, subscribed, workspace, client, eager, django_capture_on_commit_callbacks
):
    from tests.billing.conftest import post_event

    with django_capture_on_commit_callbacks(execute=True):
        bob = add_member(workspace, UserFactory())
    with django_capture_on_commit_callbacks(execute=True):
        bob.delete()
    # The subscription renews: the new period bills 1 seat.
    _item(subscribed)["current_period_start"] += 30 * 86400
    _item(subscribed)["current_period_end"] += 30 * 86400
    assert (
        post_event(
            client, stripe_fake.event("customer.subscription.updated", subscribed)
        ).status_code
        == 200
    )
    assert Subscription.objects.get(workspace=workspace).period_seats == 1
    stripe_fake.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        add_member(workspace, UserFactory())
    assert [u["proration_behavior"] for u in _updates(stripe_fake, subscribed)] == [
        "create_prorations"
    ]


def test_on_trial_nothing_is_sent(
    stripe_fake, workspace, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_member(workspace, UserFactory())
    assert stripe_fake.requests == []


def _billing(callbacks: list) -> list:
    # The member lists every page keeps are renewed on commit too (accounts.workspace_lists).
    return [c for c in callbacks if getattr(c, "func", None) is not workspace_lists.renew_here]


def test_billing_off_queues_nothing(settings, workspace, django_capture_on_commit_callbacks):
    settings.STRIPE_SECRET_KEY = ""
    with django_capture_on_commit_callbacks() as callbacks:
        add_member(workspace, UserFactory())
    assert _billing(callbacks) == []


def test_the_task_is_queued_only_on_commit(
    stripe_fake, subscribed, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        add_member(workspace, UserFactory())
    assert len(_billing(callbacks)) == 1
    assert stripe_fake.requests == []  # nothing sent before the membership is committed


def test_deleting_the_workspace_cancels_the_subscription_and_keeps_the_records(
    stripe_fake, subscribed, workspace, client, eager, django_capture_on_commit_callbacks
):
    from billing.models import Invoice
    from tests.billing.conftest import post_event

    invoice = stripe_fake.invoice_create(subscription=subscribed)
    post_event(client, stripe_fake.event("invoice.paid", invoice))
    name, slug = workspace.name, workspace.slug
    stripe_fake.requests.clear()

    with django_capture_on_commit_callbacks(execute=True):
        workspace.delete()

    assert [(r.method, r.path) for r in stripe_fake.api_requests()] == [
        ("DELETE", f"/v1/subscriptions/{subscribed['id']}")
    ]
    subscription = Subscription.objects.get(stripe_subscription_id=subscribed["id"])
    assert subscription.workspace is None and subscription.status == "canceled"
    kept = Invoice.objects.get()
    assert (kept.workspace, kept.workspace_name, kept.workspace_slug) == (None, name, slug)
    assert kept.total == 1080
