"""Celery tasks: thin, call one action each."""

from celery import shared_task


@shared_task
def reply_clock_alerts() -> None:
    """Every minute (beat): conversations at risk or late hear of it, once."""
    from sla.clocks import clock_alerts_due

    clock_alerts_due()
