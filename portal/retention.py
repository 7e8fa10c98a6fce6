"""The portal's share of the retention policy ("portal sessions and authentication logs"),
registered in `trupeo.retention` by `PortalConfig.ready()`: privacy never imports the portal.

A session or a sign-in link counts from when it ended (expired or signed out), so the policy
never signs anyone out: only rows already useless go."""

from datetime import datetime

from django.db.models import Q

from portal.models import PortalSession, SignInLink
from trupeo.retention import AUTH_LOGS, Purger, purger_register


def ended_sessions(workspace_id: int, before: datetime):
    return PortalSession.objects.filter(
        Q(expires_at__lt=before) | Q(revoked_at__lt=before), workspace_id=workspace_id
    )


def ended_links(workspace_id: int, before: datetime):
    return SignInLink.objects.filter(workspace_id=workspace_id, expires_at__lt=before)


def _purge(rows, limit: int) -> int:
    ids = list(rows.order_by("pk").values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    deleted, _ = rows.model.objects.filter(pk__in=ids).delete()
    return deleted


def sessions_count(workspace_id: int, before: datetime) -> int:
    return ended_sessions(workspace_id, before).count()


def sessions_purge(workspace_id: int, before: datetime, limit: int) -> int:
    return _purge(ended_sessions(workspace_id, before), limit)


def links_count(workspace_id: int, before: datetime) -> int:
    return ended_links(workspace_id, before).count()


def links_purge(workspace_id: int, before: datetime, limit: int) -> int:
    return _purge(ended_links(workspace_id, before), limit)


def purgers_register() -> None:
    purger_register(
        AUTH_LOGS, Purger(name="portal.sessions", count=sessions_count, purge=sessions_purge)
    )
    purger_register(
        AUTH_LOGS, Purger(name="portal.signin_links", count=links_count, purge=links_purge)
    )
