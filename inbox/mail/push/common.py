"""What both push mechanisms share: whether push is on, where a provider may post, and
queuing the sync a notification asks for."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from inbox.mail.network import destination_problem, private_hosts_allowed, resolve
from inbox.models import Mailbox, Provider, PushSubscription, Security, SyncState

logger = logging.getLogger(__name__)

# Renewed when it ends within this: Gmail asks for a watch call once a day (it lasts 7),
# Graph subscriptions on messages last at most 4,230 minutes (~70 h).
RENEW_AHEAD = {
    PushSubscription.Kind.GMAIL: timedelta(days=6),
    PushSubscription.Kind.GRAPH: timedelta(hours=24),
}
LIVE_STATES = (SyncState.ACTIVE, SyncState.ERROR)


class PushRefused(Exception):
    """A notification Trupeo does not act on (unsigned, forged, unknown): said in the log,
    never to the sender beyond its status code."""


class PushMalformed(PushRefused):
    """Signed by the provider but not a notification Trupeo can read: retrying cannot help."""


def kind_for(provider: str) -> str | None:
    return {
        Provider.GOOGLE: PushSubscription.Kind.GMAIL,
        Provider.MICROSOFT: PushSubscription.Kind.GRAPH,
    }.get(provider)


def push_configured(provider: str) -> bool:
    if provider == Provider.GOOGLE:
        return bool(settings.GMAIL_PUBSUB_TOPIC and settings.GMAIL_PUSH_SERVICE_ACCOUNT)
    if provider == Provider.MICROSOFT:
        return bool(settings.GRAPH_NOTIFICATION_URL)
    return False


def notification_url_problem(url: str) -> str:
    """Why Graph must not be told to post to `url`, or "" (HTTPS to a public host only,
    except in local trials and tests, which allow private hosts)."""
    parts = urlsplit(url)
    allow_private = private_hosts_allowed()
    if not parts.hostname or parts.scheme not in ("https", "http"):
        return "the notification URL is not an absolute URL"
    if parts.scheme != "https" and not allow_private:
        return "the notification URL must use HTTPS"
    try:
        endpoints = resolve(parts.hostname, parts.port or 443)
    except (OSError, UnicodeError):
        return "the notification URL's host does not resolve"
    return destination_problem(
        parts.hostname, endpoints, security=Security.TLS, allow_private=allow_private
    )


def push_due(now=None) -> list[int]:
    """Mailboxes whose push must be started or renewed now (the hourly beat)."""
    now = now or timezone.now()
    providers = [p for p in (Provider.GOOGLE, Provider.MICROSOFT) if push_configured(p)]
    if not providers:
        return []
    # Never started, or failed last time (retried hourly), or ending soon.
    due = Q(push__isnull=True) | Q(push__expires_at__isnull=True) | ~Q(push__last_error="")
    for kind, ahead in RENEW_AHEAD.items():
        due |= Q(push__kind=kind, push__expires_at__lt=now + ahead)
    return list(
        Mailbox.objects.filter(
            due,
            provider__in=providers,
            sync_state__in=LIVE_STATES,
            workspace__read_only_since__isnull=True,
        ).values_list("pk", flat=True)
    )


def sync_now(mailbox_ids: list[int]) -> None:
    """Queue a sync of each mailbox (after the notification's own writes commit)."""
    from inbox.tasks import sync_mailbox_now
    from trupeo.queueing import enqueue_on_commit

    for mailbox_id in mailbox_ids:
        enqueue_on_commit(sync_mailbox_now, mailbox_id)


def mark_notified(mailbox_ids: list[int]) -> None:
    PushSubscription.objects.filter(mailbox_id__in=mailbox_ids).update(
        last_notified_at=timezone.now()
    )
