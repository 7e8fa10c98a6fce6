"""Build the facts and rollups of a workspace from the rows it already has (message
directions and dates, statuses, assignees, tags, outgoing authors): nothing is decrypted.

Safe to run again at any time: each conversation's counts are taken out and put back.
Conversations already deleted keep the figures they left.
"""

from collections.abc import Callable

from inbox.models import Conversation, Direction, Message, Outgoing
from reports.aggregates import facts_refresh

CHUNK = 500


def workspace_backfill(*, workspace_id: int, progress: Callable[[int], None] | None = None) -> int:
    """Every conversation of the workspace, CHUNK at a time in id order; returns how many."""
    done, last = 0, 0
    while True:
        ids = list(
            Conversation.objects.filter(workspace_id=workspace_id, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:CHUNK]
        )
        if not ids:
            return done
        sent = list(
            Message.objects.filter(conversation_id__in=ids, direction=Direction.OUTBOUND).only(
                "pk", "conversation_id", "message_id_token", "received_at"
            )
        )
        linked = dict(
            Outgoing.objects.filter(
                message_id__in=[m.pk for m in sent], author__isnull=False
            ).values_list("message_id", "author_id")
        )
        facts_refresh(workspace_id=workspace_id, conversation_ids=ids, sent=sent, authors=linked)
        done += len(ids)
        last = ids[-1]
        if progress:
            progress(done)
