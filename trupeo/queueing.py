"""Queuing Celery tasks without letting a broker outage reach the person.

Every task queued from a request has its durable state in the database (an outgoing reply in
'queued', a notification whose email is due, …) and a periodic sweep that queues again what
is due and was never picked up. So when the broker (Redis) cannot be reached, queuing is
logged and skipped: the sweep runs the work once the broker is back, and the claim each task
makes on its row (a conditional update) keeps a second run harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _handed_over(task: Task, args: tuple, send: Callable[[], object]) -> bool:
    """`send()` the task to the broker; False (logged) when the broker cannot take it."""
    try:
        send()
    except (OperationalError, RedisError, OSError) as error:
        # The class name only: broker errors carry the broker's address.
        logger.warning(
            "could not queue %s%r (%s): left for the periodic sweep",
            task.name,
            args,
            type(error).__name__,
        )
        return False
    return True


def enqueue(task: Task, *args: Any) -> bool:
    """Queue `task(*args)`; False (logged) when the broker cannot take it right now."""
    if task.app.conf.task_always_eager:  # run here and now: its errors are its own
        task.delay(*args)
        return True
    return _handed_over(task, args, lambda: task.delay(*args))


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """`enqueue` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))


def enqueue_at(task: Task, *args: Any, eta: datetime) -> bool:
    """Queue `task(*args)` to run at `eta`; False (logged) when the broker cannot take it (the
    row's own sweep runs it once due)."""
    return _handed_over(task, args, lambda: task.apply_async(args, eta=eta))


def enqueue_at_on_commit(task: Task, *args: Any, eta: datetime) -> None:
    transaction.on_commit(lambda: enqueue_at(task, *args, eta=eta))
