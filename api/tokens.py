"""API tokens: create (the secret shown once), revoke, and recognise one a client presents.

Tokens act as the admin who created them, with a role never above that person's; a read token
only reads. "Last used" is written at most once a minute per token, so a busy integration does
not turn every read into a write.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import Membership, Role, User, Workspace
from api.models import ApiToken, TokenRole, TokenScope

PREFIX = "trp_"
PREFIX_CHARS = 12
MAX_NAME = 80
# The lifetimes the settings page offers, in days.
LIFETIMES = (30, 90, 365)
DEFAULT_LIFETIME = 90
TOUCH_EVERY = timedelta(minutes=1)


def token_row(token_id: int) -> str:
    return f"api_token:{token_id}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Created:
    token: ApiToken
    secret: str  # the whole token "trp_<prefix>_<secret>": shown once, never stored


def allowed_roles(membership: Membership) -> list[str]:
    """The roles a member may give a token: never above their own."""
    if membership.role in (Role.OWNER, Role.ADMIN):
        return [TokenRole.AGENT, TokenRole.ADMIN]
    return []


@transaction.atomic
def token_create(
    *,
    workspace: Workspace,
    created_by: User,
    name: str,
    role: str,
    scope: str,
    lifetime_days: int = DEFAULT_LIFETIME,
) -> Created:
    membership = Membership.objects.filter(workspace=workspace, user=created_by).first()
    if membership is None or not membership.is_admin:
        raise PermissionDenied(_("Only workspace admins can create API tokens."))
    if role not in allowed_roles(membership):
        raise ValidationError(_("A token cannot have a role above yours."))
    if scope not in TokenScope.values:
        raise ValidationError(_("Choose read or read-write."))
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValidationError(
            _("Give the token a name of at most %(n)d characters.") % {"n": MAX_NAME}
        )
    if not 1 <= lifetime_days <= 3650:
        raise ValidationError(_("Choose when the token expires."))
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        workspace=workspace,
        created_by=created_by,
        name_sealed=b"",
        role=role,
        scope=scope,
        prefix=prefix,
        secret_sha256=digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=lifetime_days),
    )
    # Sealed under its own row id, known only once the row exists.
    token.name_sealed = keys_for(workspace).seal_text(
        name, field="api_token.name", row=token_row(token.pk)
    )
    token.save(update_fields=["name_sealed"])
    return Created(token=token, secret=f"{PREFIX}{prefix}_{secret}")


def token_name(token: ApiToken, workspace: Workspace) -> str:
    return (
        keys_for(workspace).open_text(
            bytes(token.name_sealed), field="api_token.name", row=token_row(token.pk)
        )
        or ""
    )


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


@dataclass(frozen=True)
class Caller:
    """Who an API request acts as: the token, its workspace, the person and their role."""

    token: ApiToken
    workspace: Workspace
    user: User
    membership: Membership  # in memory: the role is the lower of the token's and the person's


def token_caller(presented: str, *, now: datetime | None = None) -> Caller | None:
    """The caller a presented token stands for; None for a forged, revoked or expired one, or
    one whose creator left the workspace. One query (the token, its workspace and membership)."""
    if not presented.isascii() or not presented.startswith(PREFIX) or len(presented) > 200:
        return None
    prefix, sep, secret = presented.removeprefix(PREFIX).partition("_")
    if not sep or len(prefix) != PREFIX_CHARS or not secret:
        return None
    token = ApiToken.objects.select_related("workspace", "created_by").filter(prefix=prefix).first()
    # Compared in constant time whatever was found, so a timing tells nothing of the prefix.
    expected = token.secret_sha256 if token is not None else "0" * 64
    if not hmac.compare_digest(expected, digest(secret)) or token is None:
        return None
    now = now or timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or token.created_by is None:
        return None
    membership = Membership.objects.filter(
        workspace_id=token.workspace_id, user_id=token.created_by_id
    ).first()
    if membership is None:
        return None
    role = TokenRole.ADMIN if membership.is_admin and token.role == TokenRole.ADMIN else Role.AGENT
    acting = Membership(
        pk=membership.pk, workspace=token.workspace, user=token.created_by, role=role
    )
    return Caller(token=token, workspace=token.workspace, user=token.created_by, membership=acting)


def token_touch(token: ApiToken, *, now: datetime | None = None) -> None:
    """Record the use, at most once a minute (the condition is in the UPDATE, so two
    processes racing write it once)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - TOUCH_EVERY).update(
        last_used_at=now
    )
    token.last_used_at = now
