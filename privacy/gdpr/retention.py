"""Retention: the security log (sign-ins with IP address and browser) and its platform purge.

Logins, failed logins and logouts are recorded from Django's auth signals (allauth sends
them too). Rows older than TRUPEO_SECURITY_LOG_DAYS are deleted by a daily beat task, except
those of people a workspace's retention policy keeps longer (up to two years; the policy's
own run deletes them then). Expired exports are purged by
`privacy.gdpr.export_archive.export_purge_expired`. Retention per category, set by each
workspace's owner, lives in `retention_policies` (what), `retention_run` (the daily run) and
`retention_receipts` (what was deleted).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from privacy.gdpr.retention_policies import users_kept_longer_than
from privacy.models import SecurityEvent, SecurityEventKind

_AGENT_MAX = 300


def _client(request: HttpRequest | None) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    # REMOTE_ADDR is the proxy's address behind one; the deployment's proxy sets it right
    # (gunicorn --forwarded-allow-ips). X-Forwarded-For is not trusted blindly.
    ip = request.META.get("REMOTE_ADDR") or None
    agent = request.META.get("HTTP_USER_AGENT", "")[:_AGENT_MAX]
    return ip, agent


def security_event_record(
    *, kind: str, request: HttpRequest | None, user: User | None = None
) -> SecurityEvent:
    ip, agent = _client(request)
    return SecurityEvent.objects.create(
        kind=kind, user=user if user and user.pk else None, ip=ip, user_agent=agent
    )


def security_log_purge(*, now: datetime | None = None) -> int:
    limit = (now or timezone.now()) - timedelta(days=settings.TRUPEO_SECURITY_LOG_DAYS)
    kept = users_kept_longer_than(settings.TRUPEO_SECURITY_LOG_DAYS)
    deleted, _ = SecurityEvent.objects.filter(at__lt=limit).exclude(user_id__in=kept).delete()
    return deleted


def on_login(sender, request, user, **kwargs) -> None:
    security_event_record(kind=SecurityEventKind.LOGIN, request=request, user=user)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # The typed address is not kept: it may be someone else's, or a password typed by mistake.
    security_event_record(kind=SecurityEventKind.LOGIN_FAILED, request=request)


def on_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        security_event_record(kind=SecurityEventKind.LOGOUT, request=request, user=user)
