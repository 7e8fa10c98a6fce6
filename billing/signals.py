"""Billing follows accounts through the signals accounts sends (`accounts.signals`), the same
ones privacy listens to, so that accounts never imports billing."""

from django.dispatch import receiver

from accounts.models import Membership, Workspace
from accounts.signals import (
    member_added,
    member_removed,
    workspace_changed,
    workspace_created,
    workspace_deleting,
)
from billing.models import Status, Subscription
from billing.stripe_api import billing_enabled
from trupeo.queueing import enqueue_on_commit


@receiver(workspace_created, dispatch_uid="billing_trial_start")
def _workspace_created(sender, workspace: Workspace, **kwargs):
    from billing.services import trial_start

    trial_start(workspace=workspace)


@receiver(workspace_changed, dispatch_uid="billing_workspace_renamed")
def _workspace_changed(sender, workspace: Workspace, **kwargs):
    """A rename: the snapshot kept with the billing records follows."""
    Subscription.objects.filter(workspace=workspace).exclude(
        workspace_name=workspace.name, workspace_slug=workspace.slug
    ).update(workspace_name=workspace.name, workspace_slug=workspace.slug)


@receiver(member_added, dispatch_uid="billing_seat_added")
def _member_added(sender, membership: Membership, **kwargs):
    if billing_enabled():
        from billing.tasks import seats_sync

        enqueue_on_commit(seats_sync, membership.workspace_id)


@receiver(member_removed, dispatch_uid="billing_seat_removed")
def _member_removed(sender, membership: Membership, **kwargs):
    if billing_enabled():
        from billing.tasks import seats_sync

        enqueue_on_commit(seats_sync, membership.workspace_id)


@receiver(workspace_deleting, dispatch_uid="billing_workspace_deleted")
def _workspace_deleting(sender, workspace: Workspace, **kwargs):
    """A deleted workspace stops being charged; its billing records stay (detached)."""
    if not billing_enabled():
        return
    from billing.tasks import subscription_cancel

    ids = (
        Subscription.objects.filter(workspace=workspace)
        .exclude(stripe_subscription_id="")
        .exclude(status__in=[Status.CANCELED, Status.INCOMPLETE_EXPIRED])
    )
    for subscription_id in ids.values_list("pk", flat=True):
        enqueue_on_commit(subscription_cancel, subscription_id)
