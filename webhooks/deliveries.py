"""Sending a delivery, retrying it with exponential backoff for a day, and giving up.

At least once: a delivery is leased before it is posted, so a worker that dies mid-request
leaves it to be retried. Receivers deduplicate on `Trupeo-Delivery` (the payload's `id`).
An endpoint that has failed for a whole day is disabled and its admins are told by email.
"""

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.admin_mail import workspace_admins_email
from accounts.keys import keys_for
from inbox.mail.sealing import open_json
from trupeo.queueing import enqueue
from webhooks import tasks, transport
from webhooks.emit import PAYLOAD_FIELD
from webhooks.models import Delivery, DeliveryState, Endpoint
from webhooks.presets import body_for
from webhooks.selectors import endpoint_row, endpoint_secret, endpoint_url
from webhooks.signing import SIGNATURE_HEADER, signature

logger = logging.getLogger(__name__)

RETRY_FOR = timedelta(hours=24)
DISABLE_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=transport.TIMEOUT * 6)
_FIRST_WAIT = 30.0
_LONGEST_WAIT = 2 * 3600.0
SWEEP_BATCH = 1000


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min… up to 2 h between attempts, with ±10 % jitter against herds."""
    wait = min(_FIRST_WAIT * 2 ** max(attempts - 1, 0), _LONGEST_WAIT)
    return timedelta(seconds=wait * random.uniform(0.9, 1.1))


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "workspace")
            .filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.is_enabled:
            _give_up(delivery, _("The endpoint was disabled."))
            return None
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=now + LEASE, attempts=F("attempts") + 1
        )
        delivery.attempts += 1
        return delivery


def delivery_attempt(*, delivery_id: int) -> None:
    delivery = _claim(delivery_id, timezone.now())
    if delivery is None:
        return
    endpoint = delivery.endpoint
    keys = keys_for(delivery.workspace)
    payload = open_json(
        keys, delivery.payload_sealed, field=PAYLOAD_FIELD, row=endpoint_row(endpoint.pk)
    )
    body = body_for(endpoint.preset, payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Trupeo-Webhooks/1",
        "Trupeo-Event": delivery.event,
        "Trupeo-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature(endpoint_secret(keys, endpoint), body, int(time.time())),
    }
    answer = transport.post(endpoint_url(keys, endpoint), body, headers)
    _record(delivery, endpoint, answer, timezone.now())


def _record(
    delivery: Delivery, endpoint: Endpoint, answer: transport.Answer, now: datetime
) -> None:
    with transaction.atomic():
        if answer.ok:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.DELIVERED,
                delivered_at=now,
                next_attempt_at=None,
                last_status=answer.status,
                last_error="",
            )
            Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
            return
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        fields = {"last_status": answer.status, "last_error": answer.error[:300]}
        if now - delivery.created_at >= RETRY_FOR:
            fields |= {"state": DeliveryState.FAILED, "next_attempt_at": None}
        else:
            fields["next_attempt_at"] = now + backoff(delivery.attempts)
        Delivery.objects.filter(pk=delivery.pk).update(**fields)
        failing_since = (
            Endpoint.objects.filter(pk=endpoint.pk, is_enabled=True)
            .values_list("failing_since", flat=True)
            .first()
        )
        if failing_since is not None and now - failing_since >= DISABLE_AFTER:
            endpoint_disable_failing(endpoint=endpoint, now=now)
    logger.info(
        "webhook delivery %s to endpoint %s failed (attempt %s, status %s)",
        delivery.pk,
        endpoint.pk,
        delivery.attempts,
        answer.status,
    )


def _give_up(delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.FAILED, next_attempt_at=None, last_error=reason[:300]
    )


def endpoint_disable_failing(*, endpoint: Endpoint, now: datetime) -> None:
    """A day of failures: stop trying, and tell the workspace's admins why."""
    changed = Endpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
        is_enabled=False, disabled_at=now
    )
    if not changed:
        return
    Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED,
        next_attempt_at=None,
        last_error=_("The endpoint was disabled after failing for a day."),
    )
    pk = endpoint.pk
    transaction.on_commit(lambda: _email_admins(pk))


def _email_admins(endpoint_id: int) -> None:
    endpoint = Endpoint.objects.select_related("workspace").get(pk=endpoint_id)
    url = settings.SITE_URL + reverse("webhook_edit", args=[endpoint.pk])
    context = {"endpoint": endpoint, "workspace": endpoint.workspace, "url": url}
    workspace_admins_email(
        endpoint.workspace, "webhooks/disabled_subject.txt", "webhooks/disabled_email.txt", context
    )


def deliveries_due_enqueue(*, now: datetime | None = None) -> int:
    due = list(
        Delivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now or timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in due:
        enqueue(tasks.webhook_deliver, delivery_id)
    return len(due)
