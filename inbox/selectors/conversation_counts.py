"""How many conversations each list holds, and unread notifications: the sidebar's counts."""

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from inbox.inbox_version import workspace_versions
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
    """How many conversations each list holds (but "Closed"), cached a few seconds.

    Keyed by the workspace's versions: any triage or new mail makes a new key, never stale.
    The team's counts are one entry for every member, keyed by the counts' own version (under
    load the inbox changes several times a second: each change that can move them costs one
    count, not one per member); "Mine" is the viewer's own, a small count on the assignee
    index, keyed by the inbox's version (any reassignment can move it)."""
    version, counts_version = workspace_versions(workspace_id)
    scope = f"{workspace_id}:{mailbox and mailbox.pk}:{tag and tag.id}"
    team_key = f"inbox-counts:{counts_version}:{scope}"
    mine_key = f"inbox-counts-mine:{version}:{scope}:{user.pk}"
    cached = cache.get_many([team_key, mine_key])
    team, mine = cached.get(team_key), cached.get(mine_key)
    if team is not None and mine is not None:
        return {**team, "mine": mine}
    now = timezone.now()
    awake = not_snoozed(now)
    live = conversations_narrowed(conversations, mailbox=mailbox, tag=tag).exclude(
        status=Status.CLOSED
    )
    if team is None:
        # The partial index `conversation_live` answers alone (an index-only scan of the
        # conversations that are not closed).
        team = live.aggregate(
            open=Count("pk", filter=Q(status=Status.OPEN) & awake),
            unassigned=Count("pk", filter=Q(status=Status.OPEN, assignee__isnull=True) & awake),
            pending=Count("pk", filter=Q(status=Status.PENDING) & awake),
            snoozed=Count("pk", filter=Q(snoozed_until__gt=now)),
            spam=Count("pk", filter=Q(status=Status.SPAM)),
        )
        cache.set(team_key, team, COUNTS_CACHE_SECONDS)
    if mine is None:
        mine = live.filter(Q(status=Status.OPEN, assignee=user) & awake).count()
        cache.set(mine_key, mine, COUNTS_CACHE_SECONDS)
    return {**team, "mine": mine}
