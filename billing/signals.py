"""Billing follows accounts through signals, so that accounts never imports billing."""

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from accounts.models import Membership, Workspace
from billing.models import Status, Subscription
from billing.stripe_api import billing_enabled
from trupeo.queueing import enqueue_on_commit


@receiver(post_save, sender=Workspace, dispatch_uid="billing_trial_start")
def _workspace_created(sender, instance: Workspace, created: bool, raw: bool = False, **kwargs):
    from billing.services import trial_start

    if raw:
        return
    if created:
        trial_start(workspace=instance)
    else:  # a rename: the snapshot kept with the billing records follows
        Subscription.objects.filter(workspace=instance).exclude(
            workspace_name=instance.name, workspace_slug=instance.slug
        ).update(workspace_name=instance.name, workspace_slug=instance.slug)


@receiver(post_save, sender=Membership, dispatch_uid="billing_seat_added")
def _member_added(sender, instance: Membership, created: bool, raw: bool = False, **kwargs):
    if created and not raw and billing_enabled():
        from billing.tasks import seats_sync

        enqueue_on_commit(seats_sync, instance.workspace_id)


@receiver(post_delete, sender=Membership, dispatch_uid="billing_seat_removed")
def _member_removed(sender, instance: Membership, **kwargs):
    if billing_enabled():
        from billing.tasks import seats_sync

        enqueue_on_commit(seats_sync, instance.workspace_id)


@receiver(pre_delete, sender=Workspace, dispatch_uid="billing_workspace_deleted")
def _workspace_deleted(sender, instance: Workspace, **kwargs):
    """A deleted workspace stops being charged; its billing records stay (detached)."""
    if not billing_enabled():
        return
    from billing.tasks import subscription_cancel

    ids = (
        Subscription.objects.filter(workspace=instance)
        .exclude(stripe_subscription_id="")
        .exclude(status__in=[Status.CANCELED, Status.INCOMPLETE_EXPIRED])
    )
    for subscription_id in ids.values_list("pk", flat=True):
        enqueue_on_commit(subscription_cancel, subscription_id)
