"""Trial, grace period and read-only: what each state lets a workspace do.

Read-only keeps reading and exporting, pauses sending and syncing, deletes nothing.
"""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from accounts.models import Workspace
from billing.models import Status, Subscription
from billing.states import access_refresh_all
from billing.tasks import access_refresh_all as access_refresh_all_task
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sending import (
    OutgoingStateError,
    outgoing_content,
    outgoing_create,
    outgoing_queue,
    outgoing_send,
)
from inbox.mail.sync import mailbox_sync, mailboxes_due
from inbox.models import Outgoing, OutgoingKind, SendState, SyncState
from tests.billing.conftest import post_event

pytestmark = pytest.mark.django_db


def _sub(workspace) -> Subscription:
    return Subscription.objects.get(workspace=workspace)


def _expire_trial(workspace) -> None:
    Subscription.objects.filter(workspace=workspace).update(
        trial_ends_at=timezone.now() - timedelta(minutes=1)
    )


def _read_only(workspace) -> bool:
    return Workspace.objects.get(pk=workspace.pk).is_read_only


def test_a_new_workspace_starts_a_14_day_trial_without_stripe(stripe_fake, workspace):
    subscription = _sub(workspace)
    assert subscription.status == Status.TRIALING
    assert subscription.trial_ends_at - workspace.created_at == timedelta(days=14)
    assert (subscription.workspace_name, subscription.workspace_slug) == (
        workspace.name,
        workspace.slug,
    )
    assert subscription.trial_days_left == 14
    assert stripe_fake.requests == []
    assert not workspace.is_read_only


def test_the_trial_banner_counts_the_days(stripe_fake, alice_client, workspace):
    Subscription.objects.filter(workspace=workspace).update(
        trial_ends_at=timezone.now() + timedelta(days=3, hours=2)
    )
    page = alice_client.get("/team/").content.decode()
    assert "Free trial: 4 days left." in page
    assert 'href="/billing/">Choose a plan' in page


def test_an_agent_sees_the_banner_without_the_billing_link(stripe_fake, bob_client, workspace):
    _expire_trial(workspace)
    page = bob_client.get("/team/").content.decode()
    assert "billing-banner-read_only" in page
    assert 'href="/billing/"' not in page


def test_an_ended_trial_makes_the_workspace_read_only(stripe_fake, alice_client, workspace):
    _expire_trial(workspace)
    access_refresh_all_task()  # the periodic task
    assert _read_only(workspace)
    page = alice_client.get("/team/").content.decode()
    assert "The free trial has ended." in page
    assert "reading and exporting still work" in page
    # Reading still works.
    assert alice_client.get("/inbox/").status_code == 200


def test_paying_lifts_read_only(stripe_fake, customer, workspace, client):
    _expire_trial(workspace)
    access_refresh_all()
    assert _read_only(workspace)
    sub = stripe_fake.subscription_create(customer=customer)
    post_event(client, stripe_fake.event("customer.subscription.created", sub))
    assert not _read_only(workspace)


def test_past_due_has_a_grace_period_then_read_only(
    stripe_fake, subscribed, alice_client, workspace, client
):
    subscribed["status"] = "past_due"
    post_event(client, stripe_fake.event("customer.subscription.updated", subscribed))
    assert not _read_only(workspace)
    page = alice_client.get("/team/").content.decode()
    assert "The last payment failed." in page
    # The page shows the day in the site's time zone (Europe/Paris): from 23:00 UTC it is
    # already the next day there.
    grace_end = timezone.localtime(_sub(workspace).past_due_since + timedelta(days=7)).day
    assert f"before {grace_end} " in page

    Subscription.objects.filter(workspace=workspace).update(
        past_due_since=timezone.now() - timedelta(days=7, minutes=1)
    )
    access_refresh_all()
    assert _read_only(workspace)


@pytest.mark.parametrize("status", ["canceled", "unpaid", "incomplete_expired", "paused"])
def test_ended_subscriptions_are_read_only(stripe_fake, subscribed, workspace, client, status):
    subscribed["status"] = status
    post_event(client, stripe_fake.event("customer.subscription.updated", subscribed))
    assert _sub(workspace).status == status
    assert _read_only(workspace)


def test_the_first_moment_of_read_only_is_kept(stripe_fake, workspace):
    _expire_trial(workspace)
    access_refresh_all()
    first = Workspace.objects.get(pk=workspace.pk).read_only_since
    access_refresh_all()
    assert Workspace.objects.get(pk=workspace.pk).read_only_since == first


def test_billing_off_never_makes_anything_read_only(settings, workspace):
    settings.STRIPE_SECRET_KEY = ""
    _expire_trial(workspace)
    Workspace.objects.filter(pk=workspace.pk).update(read_only_since=timezone.now())

    access_refresh_all()

    assert not _read_only(workspace)


def test_billing_off_shows_no_banner(settings, alice_client, workspace):
    settings.STRIPE_SECRET_KEY = ""
    _expire_trial(workspace)
    assert "billing-banner" not in alice_client.get("/team/").content.decode()


# --- what read-only pauses -------------------------------------------------------------------


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(
        workspace=workspace,
        address="scolarite@lycee-verne.fr",
        credentials={"imap_password": "x", "smtp_password": "x"},
        imap_host="imap.invalid",
        smtp_host="smtp.invalid",
    )


def test_read_only_pauses_sync_and_loses_nothing(stripe_fake, workspace, mailbox):
    assert mailbox.pk in mailboxes_due()
    _expire_trial(workspace)
    access_refresh_all()

    assert mailbox.pk not in mailboxes_due()
    summary = mailbox_sync(mailbox_id=mailbox.pk)
    assert summary.skipped_read_only and summary.ok
    assert "read-only" in summary.line()
    mailbox.refresh_from_db()
    # Not an error, not attempted: the mailbox is as it was, ready to resume.
    assert (mailbox.sync_state, mailbox.last_attempt_at, mailbox.last_error) == (
        SyncState.ACTIVE,
        None,
        "",
    )


def test_read_only_refuses_to_send_and_keeps_the_draft(stripe_fake, workspace, mailbox, alice):
    alice.language = "en"
    alice.save(update_fields=["language"])
    draft = outgoing_create(
        mailbox=mailbox,
        conversation=None,
        author=alice,
        kind=OutgoingKind.NEW,
        to=["parent@example.fr"],
        subject="Réunion",
        body="Bonjour, la réunion est jeudi.",
    )
    _expire_trial(workspace)
    access_refresh_all()

    with translation.override("en"), pytest.raises(OutgoingStateError) as error:
        outgoing_queue(outgoing=draft)

    assert "read-only" in str(error.value) and "kept" in str(error.value)
    kept = Outgoing.objects.get(pk=draft.pk)
    assert kept.state == SendState.DRAFT
    assert outgoing_content(kept)["body"] == "Bonjour, la réunion est jeudi."


def test_a_message_queued_before_read_only_is_not_sent_and_kept(
    stripe_fake, workspace, mailbox, alice
):
    alice.language = "en"  # the reason is written in the author's language
    alice.save(update_fields=["language"])
    draft = outgoing_create(
        mailbox=mailbox,
        conversation=None,
        author=alice,
        kind=OutgoingKind.NEW,
        to=["parent@example.fr"],
        body="Bonjour.",
    )
    queued = outgoing_queue(outgoing=draft)
    _expire_trial(workspace)
    access_refresh_all()

    assert outgoing_send(outgoing_id=queued.pk) == SendState.FAILED

    failed = Outgoing.objects.get(pk=queued.pk)
    assert "read-only" in failed.last_error  # not an SMTP error: it never tried
    assert failed.attempts == 1
    assert outgoing_content(failed)["body"] == "Bonjour."


def test_the_periodic_refresh_agrees_with_the_rule(stripe_fake, db):
    """`access_refresh_all` (two queries for all workspaces) and `should_be_read_only` (one
    subscription) say the same for every kind of state."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.states import should_be_read_only
    from tests.factories import UserFactory, workspace_for

    now = timezone.now()
    cases = [
        {"status": "trialing", "trial_ends_at": now + timedelta(days=1)},
        {"status": "trialing", "trial_ends_at": now - timedelta(days=1)},
        {"status": "trialing", "trial_ends_at": now - timedelta(days=1), "sid": "sub_1"},
        {"status": "incomplete", "trial_ends_at": now - timedelta(days=1), "sid": "sub_2"},
        {"status": "incomplete", "trial_ends_at": now + timedelta(days=1), "sid": "sub_3"},
        {"status": "active", "trial_ends_at": now - timedelta(days=30), "sid": "sub_4"},
        {"status": "past_due", "past_due_since": now - timedelta(days=1), "sid": "sub_5"},
        {"status": "past_due", "past_due_since": now - timedelta(days=8), "sid": "sub_6"},
        {"status": "canceled", "sid": "sub_7"},
        {"status": "unpaid", "sid": "sub_8"},
        {"status": "paused", "sid": "sub_9"},
        {"status": "incomplete_expired", "sid": "sub_10"},
    ]
    workspaces = []
    for n, case in enumerate(cases):
        workspace = workspace_for(UserFactory(), f"Espace {n}")
        Subscription.objects.filter(workspace=workspace).update(
            status=case["status"],
            trial_ends_at=case.get("trial_ends_at", now - timedelta(days=60)),
            past_due_since=case.get("past_due_since"),
            stripe_subscription_id=case.get("sid", ""),
        )
        workspaces.append(workspace)

    with CaptureQueriesContext(connection) as queries:
        access_refresh_all()
    assert len(queries) == 2

    for workspace, case in zip(workspaces, cases, strict=True):
        expected = should_be_read_only(_sub(workspace))
        assert _read_only(workspace) == expected, case
    assert [_read_only(w) for w in workspaces] == [
        False, True, False, True, False, False, False, True, True, True, True, True
    ]  # fmt: skip
