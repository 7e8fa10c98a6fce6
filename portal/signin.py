"""Passwordless sign-in and the portal's own sessions (never a Django login).

- `signin_request` records an asked-for link and queues its mail; the answer to the visitor is
  the same whether or not the address is known (the task decides, out of the request).
- `signin_link_send` (the task) makes the secret, keeps its SHA-256 only, and mails the link,
  only to an address that has something to see: the portal never mails strangers.
- `signin_link_use` spends a link once, within 15 minutes, for its own workspace only.
- A session is a random secret in a cookie scoped to `/p/<slug>/`, its digest in `PortalSession`;
  "Remember me" keeps it for the workspace's number of days, otherwise until the browser closes
  (and at most `BROWSER_SESSION`).
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Workspace
from portal import tasks
from portal.addresses import address_token, normalise, open_address, seal_address
from portal.mailing import portal_mail_send
from portal.models import PortalSession, SignInLink
from portal.selectors import is_known, portal_settings
from trupeo.queueing import enqueue_on_commit

LINK_LIFETIME = timedelta(minutes=15)
BROWSER_SESSION = timedelta(hours=12)
COOKIE_PREFIX = "trupeo_portal_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def signin_request(*, workspace: Workspace, address: str, language: str) -> SignInLink:
    keys = keys_for(workspace)
    public_id = secrets.token_hex(16)
    link = SignInLink.objects.create(
        workspace=workspace,
        public_id=public_id,
        address_sealed=seal_address(keys, address, row=f"portal_link:{public_id}"),
        address_token=address_token(keys, address),
        expires_at=timezone.now() + LINK_LIFETIME,
    )
    enqueue_on_commit(tasks.send_signin_link, link.pk, language)
    return link


def signin_link_send(*, link_id: int, language: str = "fr") -> bool:
    """Mail the link if its address has conversations to see; True when mailed."""
    link = SignInLink.objects.select_related("workspace").filter(pk=link_id).first()
    if link is None or link.sent_at or link.expires_at <= timezone.now():
        return False
    workspace = link.workspace
    keys = keys_for(workspace)
    address = open_address(keys, link.address_sealed, row=f"portal_link:{link.public_id}")
    if not is_known(workspace, address):
        link.delete()  # nothing to see: no mail, nothing kept
        return False
    secret = secrets.token_urlsafe(32)
    link.token_hash = digest(secret)
    link.sent_at = timezone.now()
    link.save(update_fields=["token_hash", "sent_at"])
    url = settings.SITE_URL + reverse("portal_signin_link", args=[workspace.slug, secret])
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    context = {
        "workspace": workspace,
        "url": url,
        "minutes": int(LINK_LIFETIME.total_seconds() // 60),
    }
    return portal_mail_send(template="signin", context=context, to=[address], language=language)


@transaction.atomic
def signin_link_use(*, workspace: Workspace, secret: str) -> str | None:
    """The address of a valid, unspent link of this workspace, now spent; else None."""
    if not secret or len(secret) > 100:
        return None
    link = (
        SignInLink.objects.select_for_update()
        .filter(workspace=workspace, token_hash=digest(secret))
        .first()
    )
    if link is None or link.used_at is not None or link.expires_at <= timezone.now():
        return None
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return open_address(
        keys_for(workspace), link.address_sealed, row=f"portal_link:{link.public_id}"
    )


def signin_link_valid(*, workspace: Workspace, secret: str) -> bool:
    """Whether the link could be used now (the confirmation page; it spends nothing)."""
    if not secret or len(secret) > 100:
        return False
    return SignInLink.objects.filter(
        workspace=workspace,
        token_hash=digest(secret),
        used_at=None,
        expires_at__gt=timezone.now(),
    ).exists()


def cookie_name(workspace: Workspace) -> str:
    return f"{COOKIE_PREFIX}{workspace.pk}"


def cookie_path(workspace: Workspace) -> str:
    return reverse("portal_home", args=[workspace.slug])


def session_start(
    *, workspace: Workspace, address: str, remember: bool, device: str, response: HttpResponse
) -> PortalSession:
    keys = keys_for(workspace)
    secret = secrets.token_urlsafe(32)
    key_hash = digest(secret)
    settings_row = portal_settings(workspace)
    days = settings_row.remember_days if settings_row else 30
    lifetime = timedelta(days=days) if remember else BROWSER_SESSION
    session = PortalSession.objects.create(
        workspace=workspace,
        key_hash=key_hash,
        address_sealed=seal_address(keys, address, row=f"portal_session:{key_hash}"),
        address_token=address_token(keys, address),
        remember=remember,
        device=device[:200],
        expires_at=timezone.now() + lifetime,
    )
    response.set_cookie(
        cookie_name(workspace),
        secret,
        max_age=int(lifetime.total_seconds()) if remember else None,
        path=cookie_path(workspace),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return session


def session_for(request: HttpRequest, workspace: Workspace) -> tuple[PortalSession, str] | None:
    """The live portal session of this request in this workspace, with its address."""
    secret = request.COOKIES.get(cookie_name(workspace), "")
    if not secret or len(secret) > 100:
        return None
    session = PortalSession.objects.filter(
        workspace=workspace, key_hash=digest(secret), revoked_at=None, expires_at__gt=timezone.now()
    ).first()
    if session is None:
        return None
    now = timezone.now()
    if now - session.last_seen_at > timedelta(minutes=5):
        PortalSession.objects.filter(pk=session.pk).update(last_seen_at=now)
    address = open_address(
        keys_for(workspace), session.address_sealed, row=f"portal_session:{session.key_hash}"
    )
    return session, address


def sessions_of(*, workspace: Workspace, address: str) -> list[PortalSession]:
    return list(
        PortalSession.objects.filter(
            workspace=workspace,
            address_token=address_token(keys_for(workspace), normalise(address)),
            revoked_at=None,
            expires_at__gt=timezone.now(),
        ).order_by("-created_at")
    )


def session_revoke(*, session: PortalSession) -> None:
    PortalSession.objects.filter(pk=session.pk, revoked_at=None).update(revoked_at=timezone.now())


def session_end(*, workspace: Workspace, session: PortalSession, response: HttpResponse) -> None:
    session_revoke(session=session)
    response.delete_cookie(cookie_name(workspace), path=cookie_path(workspace))


def signin_rows_purge() -> int:
    """Spent or expired links, and sessions ended more than a day ago, are deleted."""
    now = timezone.now()
    links, _ = SignInLink.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    sessions, _ = PortalSession.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    revoked, _ = PortalSession.objects.filter(revoked_at__lt=now - timedelta(days=1)).delete()
    return links + sessions + revoked
