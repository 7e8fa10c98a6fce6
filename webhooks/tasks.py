"""Celery tasks: thin, take ids, call one function each."""

from celery import shared_task


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int) -> None:
    from webhooks.deliveries import delivery_attempt

    delivery_attempt(delivery_id=delivery_id)


@shared_task
def webhook_deliveries_sweep() -> None:
    """Retries that are due, and deliveries whose task the broker lost."""
    from webhooks.deliveries import deliveries_due_enqueue

    deliveries_due_enqueue()
