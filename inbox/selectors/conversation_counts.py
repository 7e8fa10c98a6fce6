"""How many conversations each list holds, and unread notifications: the sidebar's counts."""

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from inbox.inbox_version import workspace_version
from inbox.models import Conversation, Notification, Status
from inbox.selectors.conversation_list import conversations_narrowed, not_snoozed
from inbox.selectors.mailboxes import MailboxEntry
from inbox.selectors.tags import TagView


def unread_count(*, user: User, workspace_id: int) -> int:
    return Notification.objects.filter(
        recipient=user, workspace_id=workspace_id, read_at__isnull=True
    ).count()


COUNTS_CACHE_SECONDS = 10


def conversation_counts(
    conversations: QuerySet[Conversation],
    *,
    workspace_id: int,
    user: User,
    mailbox: MailboxEntry | None,
    tag: TagView | None,
) -> dict[str, int]:
    """How many conversations each list holds (but "Closed"), cached a few seconds, one query
    over the conversations that are not closed."""
    # Keyed by the workspace's version: any triage or new mail makes a new key, never stale.
    version = workspace_version(workspace_id)
    key = (
        f"inbox-counts:{workspace_id}:{version}:{user.pk}:{mailbox and mailbox.pk}:{tag and tag.id}"
    )
    counts = cache.get(key)
    if counts is None:
        now = timezone.now()
        awake = not_snoozed(now)
        live = conversations_narrowed(conversations, mailbox=mailbox, tag=tag).exclude(
            status=Status.CLOSED
        )
        counts = live.aggregate(
            open=Count("pk", filter=Q(status=Status.OPEN) & awake),
            mine=Count("pk", filter=Q(status=Status.OPEN, assignee=user) & awake),
            unassigned=Count("pk", filter=Q(status=Status.OPEN, assignee__isnull=True) & awake),
            pending=Count("pk", filter=Q(status=Status.PENDING) & awake),
            snoozed=Count("pk", filter=Q(snoozed_until__gt=now)),
            spam=Count("pk", filter=Q(status=Status.SPAM)),
        )
        cache.set(key, counts, COUNTS_CACHE_SECONDS)
    return counts
