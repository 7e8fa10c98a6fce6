"""What new mail sets off, inside the ingestion transaction: rules, wake-ups, followers."""

from collections import defaultdict

from inbox.mail.rules import NewConversation, rules_apply
from inbox.models import ActivityKind, Conversation, Follow, Mailbox, NotificationKind
from inbox.notifications import notify
from inbox.triage import record


def arrivals_handle(
    *,
    mailbox: Mailbox,
    started: list[NewConversation],
    replied: list[tuple[Conversation, bool]],
) -> None:
    """`started`: conversations a customer just opened; `replied`: (conversation, was it
    snoozed) where the customer wrote again."""
    rules_apply(mailbox=mailbox, started=started)
    if not replied:
        return
    for conversation, was_snoozed in replied:
        if was_snoozed:
            record(conversation, None, ActivityKind.WOKE)
    by_conversation = defaultdict(list)
    follows = Follow.objects.filter(conversation_id__in=[c.pk for c, _ in replied]).select_related(
        "user"
    )
    for follow in follows:
        by_conversation[follow.conversation_id].append(follow.user)
    for conversation, _ in replied:
        if by_conversation[conversation.pk]:
            notify(
                conversation=conversation,
                recipients=by_conversation[conversation.pk],
                kind=NotificationKind.REPLY,
            )
