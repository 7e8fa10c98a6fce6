"""Turning what happened into deliveries: one row per subscribed endpoint, sent after commit.

Called inside the transaction of the change itself, so a delivery exists if and only if the
change does; the task is queued on commit and a beat sweep catches any the broker lost.
"""

from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.mail.sealing import seal_json
from trupeo.queueing import enqueue_on_commit
from webhooks import tasks
from webhooks.models import Delivery, Endpoint
from webhooks.selectors import endpoint_row

PAYLOAD_FIELD = "webhook.payload"


def subscribed(workspace_id: int, event: str) -> list[Endpoint]:
    return subscriptions(workspace_id).get(event, [])


def subscriptions(workspace_id: int) -> dict[str, list[Endpoint]]:
    """The workspace's enabled endpoints by the events they take, in one query: a batch of
    mail asks once for all its events, not once per conversation."""
    by_event: dict[str, list[Endpoint]] = {}
    for endpoint in Endpoint.objects.filter(workspace_id=workspace_id, is_enabled=True):
        for event in endpoint.events:
            by_event.setdefault(event, []).append(endpoint)
    return by_event


def event_emit(
    *,
    workspace: Workspace,
    event: str,
    data: Callable[[bool], dict],
    endpoints: list[Endpoint] | None = None,
    at: datetime | None = None,
) -> list[Delivery]:
    """`data(with_content)` builds the event's data; it is asked at most twice."""
    targets = subscribed(workspace.pk, event) if endpoints is None else endpoints
    if not targets:
        return []
    keys, now = keys_for(workspace), at or timezone.now()
    built: dict[bool, dict] = {}
    made = []
    for endpoint in targets:
        with_content = endpoint.include_content
        if with_content not in built:
            built[with_content] = data(with_content)
        delivery = Delivery.objects.create(
            workspace=workspace,
            endpoint=endpoint,
            event=event,
            payload_sealed=b"",
            next_attempt_at=now,
        )
        payload = {
            "id": delivery.pk,
            "event": event,
            "created_at": now.isoformat(),
            "workspace": {"id": workspace.pk, "slug": workspace.slug},
            "data": built[with_content],
        }
        delivery.payload_sealed = seal_json(
            keys, payload, field=PAYLOAD_FIELD, row=endpoint_row(endpoint.pk)
        )
        Delivery.objects.filter(pk=delivery.pk).update(payload_sealed=delivery.payload_sealed)
        enqueue_on_commit(tasks.webhook_deliver, delivery.pk)
        made.append(delivery)
    return made
