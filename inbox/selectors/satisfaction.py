"""Satisfaction ratings as pages and reports read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from accounts.models import Workspace
from inbox.mail.sealing import satisfaction_row
from inbox.models import Conversation, SatisfactionLevel, SatisfactionRating
from trupeo.crypto import WorkspaceKeys


@dataclass(frozen=True)
class RatingView:
    rating: str
    label: str
    rated_at: datetime
    comment: str


def conversation_rating(keys: WorkspaceKeys, conversation: Conversation) -> RatingView | None:
    """The requester's rating of this conversation, its comment opened; None when unrated."""
    rated = SatisfactionRating.objects.filter(conversation=conversation).first()
    if rated is None:
        return None
    comment = ""
    if rated.comment_sealed:
        comment = (
            keys.open_text(
                rated.comment_sealed, field="satisfaction.comment", row=satisfaction_row(rated.pk)
            )
            or ""
        )
    return RatingView(
        rating=rated.rating,
        label=str(SatisfactionLevel(rated.rating).label),
        rated_at=rated.rated_at,
        comment=comment,
    )


def satisfaction_counts(
    *, workspace: Workspace, since: datetime, until: datetime, mailbox_id: int | None = None
) -> dict[str, int]:
    """How many ratings of each level in [since, until): what a report counts. Ratings
    outlive their conversations, so the counts survive retention."""
    ratings = SatisfactionRating.objects.filter(
        workspace=workspace, rated_at__gte=since, rated_at__lt=until
    )
    if mailbox_id is not None:
        ratings = ratings.filter(mailbox_id=mailbox_id)
    counts = dict(ratings.values_list("rating").annotate(n=Count("pk")).order_by())
    return {level: counts.get(level, 0) for level in SatisfactionLevel.values}
