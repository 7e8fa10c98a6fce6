"""Celery tasks: thin, take ids, call one service each."""

from celery import shared_task


@shared_task(acks_late=True)
def seats_sync(workspace_id: int) -> None:
    from billing.services import seats_sync as sync

    sync(workspace_id=workspace_id)


@shared_task(acks_late=True)
def subscription_cancel(subscription_id: int) -> None:
    from billing.services import subscription_cancel as cancel

    cancel(subscription_id=subscription_id)


@shared_task
def access_refresh_all() -> None:
    """Trials and grace periods end with time, not with an event."""
    from billing.states import access_refresh_all as refresh

    refresh()
