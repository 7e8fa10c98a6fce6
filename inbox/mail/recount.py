"""A conversation's counters and sealed summary worked out again from the messages it holds.

Ingest folds each new message into them as it arrives (`inbox.mail.ingest`); when messages
leave or move (an erasure, a merge, a split) or another writer got there first, they are
counted again from the rows, by the same rules: the first subject, the customer side of the
conversation (who wrote in, or whom we wrote to), the newest snippet and time, attachments
one can download (not images shown in the body). An out-of-office answering us moves neither
the snippet nor the time, as when it arrived.
"""

from django.db.models import QuerySet

from inbox.mail.sealing import conversation_row, open_json, seal_json, stored_message_row
from inbox.models import Attachment, Conversation, Direction, Message
from trupeo.crypto import WorkspaceKeys

_RECOUNTED = [
    "summary_sealed",
    "message_count",
    "has_attachments",
    "first_message_at",
    "last_message_at",
]


def conversations_for_update(ids) -> QuerySet[Conversation]:
    """These conversations, locked until the transaction ends when read, in the order every
    writer of a conversation and its messages takes them (by id, FOR NO KEY UPDATE as an
    UPDATE does), so two such writers wait for each other instead of deadlocking or counting
    what the other undoes."""
    return (
        Conversation.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
    )


def conversations_lock(ids) -> set[int]:
    """Lock these conversations (`conversations_for_update`); the ids that still exist."""
    return set(conversations_for_update(ids).values_list("pk", flat=True))


def conversation_recount(keys: WorkspaceKeys, conversation: Conversation) -> None:
    """Counters and summary from the conversation's messages as they now are, saved. A
    conversation without messages keeps its times (the caller deletes it)."""
    messages = list(
        Message.objects.filter(conversation=conversation)
        .order_by("received_at", "id")
        .only(
            "id",
            "mailbox_id",
            "sealed_as",
            "envelope_sealed",
            "direction",
            "received_at",
            "is_auto_reply",
        )
    )
    last_at = None
    summary: dict = {}
    for position, message in enumerate(messages):
        envelope = open_json(
            keys, message.envelope_sealed, field="message.envelope", row=stored_message_row(message)
        )
        if not summary.get("subject"):
            summary["subject"] = envelope.get("subject") or ""
        if message.direction == Direction.INBOUND:
            counterpart = envelope.get("from") or {}
        else:
            counterpart = next(iter(envelope.get("to") or envelope.get("cc") or []), {})
        if counterpart and (message.direction == Direction.INBOUND or not summary.get("address")):
            summary["name"] = counterpart.get("name", "")
            summary["address"] = counterpart.get("address", "")
        if position and message.is_auto_reply and message.direction == Direction.INBOUND:
            continue
        summary["snippet"] = envelope.get("snippet") or ""
        last_at = message.received_at
    conversation.summary_sealed = seal_json(
        keys, summary, field="conversation.summary", row=conversation_row(conversation.pk)
    )
    conversation.message_count = len(messages)
    conversation.has_attachments = Attachment.objects.filter(
        message__conversation=conversation, is_inline=False
    ).exists()
    if messages:
        conversation.first_message_at = messages[0].received_at
        conversation.last_message_at = last_at
    conversation.save(update_fields=_RECOUNTED)
