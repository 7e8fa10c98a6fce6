"""Starting, renewing and stopping a mailbox's push subscription (Gmail watch or Graph
subscription), recorded in `PushSubscription`."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from inbox.mail.imap import describe
from inbox.mail.providers.graph import graph_api
from inbox.mail.push.common import LIVE_STATES, kind_for, notification_url_problem, push_configured
from inbox.mail.push.gmail import gmail_unwatch, gmail_watch
from inbox.mail.push.graph import (
    graph_extend,
    graph_subscribe,
    graph_unsubscribe,
    new_client_state,
    secret_hash,
)
from inbox.models import Mailbox, Provider, PushSubscription

logger = logging.getLogger(__name__)


def _record_error(mailbox: Mailbox, kind: str, error: BaseException) -> None:
    sentence = describe(error, host=mailbox.address, protocol=kind)
    PushSubscription.objects.update_or_create(
        mailbox=mailbox, defaults={"kind": kind, "last_error": sentence[:1000]}
    )
    logger.warning("mailbox %s: push not renewed: %s", mailbox.pk, type(error).__name__)


def push_start(*, mailbox: Mailbox) -> PushSubscription | None:
    """Start push for the mailbox (or renew what runs); None when push is not configured
    for its provider or the mailbox is not syncing. Polling covers every failure."""
    kind = kind_for(mailbox.provider)
    if kind is None or not push_configured(mailbox.provider):
        return None
    if mailbox.sync_state not in LIVE_STATES:
        return None
    try:
        if mailbox.provider == Provider.GOOGLE:
            expires_at = gmail_watch(mailbox)
            push, _created = PushSubscription.objects.update_or_create(
                mailbox=mailbox,
                defaults={
                    "kind": kind,
                    "expires_at": expires_at,
                    "renewed_at": timezone.now(),
                    "last_error": "",
                },
            )
            return push
        return _graph_start(mailbox)
    except Exception as error:
        _record_error(mailbox, kind, error)
        return None


def _graph_start(mailbox: Mailbox) -> PushSubscription | None:
    problem = notification_url_problem(settings.GRAPH_NOTIFICATION_URL)
    if problem:
        # Never ask Graph to post into our own network: said once in the log, polling on.
        logger.error("graph notifications not requested: %s", problem)
        return None
    api = graph_api(mailbox)
    existing = PushSubscription.objects.filter(mailbox=mailbox).first()
    if existing is not None and existing.external_id:
        expires_at = graph_extend(api, existing.external_id)
        if expires_at is not None:
            existing.expires_at = expires_at
            existing.renewed_at = timezone.now()
            existing.last_error = ""
            existing.save(update_fields=["expires_at", "renewed_at", "last_error"])
            return existing
    client_state = new_client_state()
    subscription_id, expires_at = graph_subscribe(api, client_state)
    push, _created = PushSubscription.objects.update_or_create(
        mailbox=mailbox,
        defaults={
            "kind": PushSubscription.Kind.GRAPH,
            "external_id": subscription_id,
            "secret_hash": secret_hash(client_state),
            "expires_at": expires_at,
            "renewed_at": timezone.now(),
            "last_error": "",
        },
    )
    return push


def push_renew(*, mailbox: Mailbox) -> PushSubscription | None:
    """Renew before expiry (a Gmail watch is simply asked again; Graph is extended, or
    created anew when Graph removed it)."""
    return push_start(mailbox=mailbox)


def push_stop(*, mailbox: Mailbox) -> None:
    """Stop push (disconnect, deletion). Best effort: the provider's side ends on its own at
    expiry, and without our row a notification is ignored anyway."""
    push = PushSubscription.objects.filter(mailbox=mailbox).first()
    if push is None:
        return
    try:
        if push.kind == PushSubscription.Kind.GMAIL:
            gmail_unwatch(mailbox)
        elif push.external_id:
            graph_unsubscribe(graph_api(mailbox), push.external_id)
    except Exception as error:
        logger.warning("mailbox %s: push not stopped (%s)", mailbox.pk, type(error).__name__)
    push.delete()
