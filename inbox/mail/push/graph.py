"""Microsoft Graph change notifications on a mailbox's Inbox.

* Creating a subscription, Graph first posts `?validationToken=…` to the notification URL
  and wants it echoed as text/plain within 10 seconds (the view does that, on POST only).
* Each subscription has its own `clientState`, a random secret sent once to Graph and stored
  here as its SHA-256; every notification's is compared in constant time, and one that does
  not match (or names no subscription of ours) is ignored, answered 202 like the others so a
  prober learns nothing.
* Lifecycle notifications (same URL): `reauthorizationRequired` renews the subscription,
  `subscriptionRemoved` creates a new one, `missed` queues a sync (which catches up by delta).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from inbox.mail.providers.api import Api
from inbox.mail.push.common import PushRefused, mark_notified, sync_now
from inbox.models import PushSubscription

logger = logging.getLogger(__name__)

# Graph's longest subscription on Outlook messages is 4,230 minutes; a little less is asked
# so clocks that disagree never make Graph refuse it.
LIFETIME = timedelta(minutes=4200)
RESOURCE = "me/mailFolders('inbox')/messages"
MAX_NOTIFICATIONS = 1000  # Graph batches up to a few hundred; beyond is not Graph
# Which lifecycle events do what: a renewal (or a new subscription), or a catch-up sync.
RENEW_EVENTS = {"reauthorizationRequired", "subscriptionRemoved"}
SYNC_EVENTS = {"missed"}


def secret_hash(client_state: str) -> str:
    return hashlib.sha256(client_state.encode()).hexdigest()


def new_client_state() -> str:
    return secrets.token_urlsafe(48)  # 64 characters; Graph allows 128


def _expiry(body: dict) -> datetime:
    moment = parse_datetime(str(body.get("expirationDateTime", "")))
    return moment if moment is not None else timezone.now() + LIFETIME


def graph_subscribe(api: Api, client_state: str) -> tuple[str, datetime]:
    """A new subscription; (its id, when it ends). Graph validates the URL meanwhile."""
    url = settings.GRAPH_NOTIFICATION_URL
    response = api.call(
        "POST",
        "/v1.0/subscriptions",
        ok=(201,),
        json={
            "changeType": "created",
            "notificationUrl": url,
            "lifecycleNotificationUrl": url,
            "resource": RESOURCE,
            "expirationDateTime": (timezone.now() + LIFETIME).isoformat(),
            "clientState": client_state,
        },
    )
    body = response.json()
    return str(body["id"]), _expiry(body)


def graph_extend(api: Api, subscription_id: str) -> datetime | None:
    """Push the end of a subscription back; None when Graph no longer has it."""
    response = api.call(
        "PATCH",
        f"/v1.0/subscriptions/{subscription_id}",
        passthrough=(404,),
        json={"expirationDateTime": (timezone.now() + LIFETIME).isoformat()},
    )
    if response.status_code == 404:
        return None
    return _expiry(response.json())


def graph_unsubscribe(api: Api, subscription_id: str) -> None:
    api.call("DELETE", f"/v1.0/subscriptions/{subscription_id}", ok=(204,), passthrough=(404,))


def _items(body: bytes) -> list[dict]:
    try:
        payload = json.loads(body)
        items = payload["value"]
    except (ValueError, KeyError, TypeError) as error:
        raise PushRefused(f"malformed notification ({type(error).__name__})") from error
    if not isinstance(items, list) or len(items) > MAX_NOTIFICATIONS:
        raise PushRefused("malformed notification (value)")
    return [item for item in items if isinstance(item, dict)]


def graph_notifications_receive(*, body: bytes) -> tuple[list[int], list[int]]:
    """Check and act on a batch of notifications: (mailboxes to sync, subscriptions to renew).

    Syncs are queued at once; renewals are queued too (the caller answers Graph within its 3
    seconds). Items with an unknown subscription or a wrong clientState are skipped."""
    items = _items(body)
    wanted = {str(item.get("subscriptionId", ""))[:255] for item in items}
    known = {
        push.external_id: push
        for push in PushSubscription.objects.filter(
            kind=PushSubscription.Kind.GRAPH, external_id__in=wanted - {""}
        )
    }
    to_sync: set[int] = set()
    to_renew: set[int] = set()
    for item in items:
        push = known.get(str(item.get("subscriptionId", "")))
        given = item.get("clientState")
        if push is None or not isinstance(given, str) or not push.secret_hash:
            logger.warning("graph notification for no subscription of ours: ignored")
            continue
        if not hmac.compare_digest(secret_hash(given), push.secret_hash):
            logger.warning("graph notification with a wrong clientState: ignored")
            continue
        event = item.get("lifecycleEvent")
        if event in RENEW_EVENTS:
            to_renew.add(push.mailbox_id)
        elif event in SYNC_EVENTS or item.get("changeType") == "created":
            to_sync.add(push.mailbox_id)
    if to_sync:
        mark_notified(sorted(to_sync))
        sync_now(sorted(to_sync))
    if to_renew:
        from inbox.tasks import renew_push
        from trupeo.queueing import enqueue_on_commit

        for mailbox_id in sorted(to_renew):
            enqueue_on_commit(renew_push, mailbox_id)
    return sorted(to_sync), sorted(to_renew)
