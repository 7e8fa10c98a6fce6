"""Satisfaction: a requester rates a closed conversation (Bien / Moyen / Pas bien, a comment).

The closing mail carries one link per rating. Each link holds a token signed for this one
purpose and bound to its conversation; the database keeps only its SHA-256
(SatisfactionRequest), so a copy of the database rates nothing. A token rates once, only its
own conversation; a comment may follow the rating, once, within COMMENT_WINDOW. Someone
signed in as a member of the workspace is refused: agents never rate for the requester.
No pixel, no third party: the links come back to Trupeo and nowhere else.

The portal (where the requester is signed in) rates through `satisfaction_record` with the
conversation instead of a token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.mail.sealing import satisfaction_row
from inbox.models import (
    Conversation,
    SatisfactionLevel,
    SatisfactionRating,
    SatisfactionRequest,
)

SALT = "trupeo.satisfaction.v1"
TOKEN_MAX_AGE = timedelta(days=60)
COMMENT_WINDOW = timedelta(hours=24)
MAX_COMMENT = 2000


class SatisfactionRefused(Exception):
    """Why a rating was refused: `code` is "invalid", "used", "member" or "closed"."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def satisfaction_request_create(*, conversation: Conversation) -> dict[str, str]:
    """A new rating token for `conversation`: {rating: absolute link} for the closing mail."""
    token = signing.dumps(
        {"c": conversation.pk, "n": secrets.token_urlsafe(16)}, salt=SALT, compress=False
    )
    SatisfactionRequest.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        token_hash=token_hash(token),
    )
    base = settings.SITE_URL + reverse("satisfaction", args=[token])
    return {level: f"{base}?rating={level}" for level in SatisfactionLevel.values}


def satisfaction_request_for(token: str) -> SatisfactionRequest:
    """The request a token names, or SatisfactionRefused("invalid"): a forged, expired or
    unknown token, or one whose signed conversation is not the one it was issued for."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=TOKEN_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise SatisfactionRefused("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), int):
        raise SatisfactionRefused("invalid")
    request = (
        SatisfactionRequest.objects.select_related("conversation__mailbox__workspace")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if request is None or request.conversation_id != payload["c"]:
        raise SatisfactionRefused("invalid")
    return request


def satisfaction_rater_check(*, request: SatisfactionRequest, user: User | None) -> None:
    """SatisfactionRefused("used") or ("member") before the page offers to rate."""
    if request.used_at is not None:
        raise SatisfactionRefused("used")
    _refuse_members(user, request.workspace_id)


def _refuse_members(user: User | None, workspace_id: int) -> None:
    if (
        user is not None
        and user.is_authenticated
        and Membership.objects.filter(workspace_id=workspace_id, user=user).exists()
    ):
        raise SatisfactionRefused("member")


def satisfaction_record(
    *,
    rating: str,
    comment: str = "",
    token: str | None = None,
    conversation: Conversation | None = None,
    user: User | None = None,
) -> SatisfactionRating:
    """Record a rating, by a token of the closing mail or for a conversation the caller has
    already checked is the requester's (the portal). Raises SatisfactionRefused."""
    if rating not in SatisfactionLevel.values:
        raise SatisfactionRefused("invalid")
    with transaction.atomic():
        if token is not None:
            request = satisfaction_request_for(token)
            request = SatisfactionRequest.objects.select_for_update().get(pk=request.pk)
            conversation = Conversation.objects.select_related("mailbox__workspace").get(
                pk=request.conversation_id
            )
            _refuse_members(user, conversation.workspace_id)
            if request.used_at is not None:
                raise SatisfactionRefused("used")
            request.used_at = timezone.now()
            request.save(update_fields=["used_at"])
        elif conversation is None:
            raise SatisfactionRefused("invalid")
        else:
            _refuse_members(user, conversation.workspace_id)
        rated = SatisfactionRating(
            workspace_id=conversation.workspace_id,
            mailbox_id=conversation.mailbox_id,
            conversation=conversation,
            rating=rating,
            rated_at=timezone.now(),
        )
        try:
            with transaction.atomic():
                rated.save()
        except IntegrityError:
            raise SatisfactionRefused("used") from None
        if comment.strip():
            _seal_comment(rated, comment)
    return rated


def satisfaction_comment(
    *, token: str, comment: str, user: User | None = None
) -> SatisfactionRating:
    """Add the optional comment after a one-click rating: once, soon after, same token."""
    with transaction.atomic():
        request = satisfaction_request_for(token)
        _refuse_members(user, request.workspace_id)
        rated = (
            SatisfactionRating.objects.select_for_update()
            .select_related("workspace")
            .filter(conversation_id=request.conversation_id)
            .first()
        )
        if (
            rated is None
            or rated.comment_sealed
            or request.used_at is None
            or timezone.now() - request.used_at > COMMENT_WINDOW
        ):
            raise SatisfactionRefused("used")
        if comment.strip():
            _seal_comment(rated, comment)
    return rated


def _seal_comment(rated: SatisfactionRating, comment: str) -> None:
    text = comment.replace("\r\n", "\n").replace("\x00", "").strip()[:MAX_COMMENT]
    rated.comment_sealed = keys_for(rated.workspace).seal_text(
        text, field="satisfaction.comment", row=satisfaction_row(rated.pk)
    )
    rated.save(update_fields=["comment_sealed"])
