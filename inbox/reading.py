"""Reading a conversation: unread-for-me, the live stamp, and senders whose images show."""

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User, Workspace
from inbox.models import Activity, Conversation, ConversationRead, Follow, TrustedSender
from inbox.notifications import conversation_notifications_read
from trupeo.crypto import WorkspaceKeys


def for_page(user: User) -> QuerySet[Conversation]:
    """Conversations with what their page needs besides, in the same query: the mailbox, the
    assignee, the newest activity (for the live stamp) and whether `user` follows it."""
    return Conversation.objects.select_related("mailbox", "assignee").annotate(
        last_activity_id=Subquery(
            Activity.objects.filter(conversation=OuterRef("pk")).order_by("-id").values("id")[:1]
        ),
        followed=Exists(Follow.objects.filter(conversation=OuterRef("pk"), user=user)),
    )


def conversation_mark_read(*, conversation: Conversation, user: User) -> None:
    # One upsert: opening a conversation is the most frequent write there is.
    ConversationRead.objects.bulk_create(
        [ConversationRead(user=user, conversation=conversation, read_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["user", "conversation"],
        update_fields=["read_at"],
    )
    conversation_notifications_read(user=user, conversation=conversation)


def conversation_stamp(conversation: Conversation) -> str:
    """Changes whenever what the conversation page shows changes: a message arrives or is
    sent, or anyone assigns, tags, snoozes, changes the status or writes a note (each of
    those leaves an activity). `conversation` comes from `for_page`."""
    return (
        f"{conversation.message_count}-{conversation.last_activity_id or 0}-{conversation.status}"
    )


def _sender_token(keys: WorkspaceKeys, address: str) -> int:
    return keys.search_token("trusted-sender:" + address.strip().lower())


def trusted_senders(keys: WorkspaceKeys, workspace: Workspace, addresses: list[str]) -> set[str]:
    """Those of `addresses` whose remote images the team chose to always show."""
    tokens = {_sender_token(keys, a): a.lower() for a in addresses if a}
    found = TrustedSender.objects.filter(
        workspace=workspace, address_token__in=list(tokens)
    ).values_list("address_token", flat=True)
    return {tokens[t] for t in found}


def sender_trust(*, keys: WorkspaceKeys, workspace: Workspace, address: str) -> None:
    TrustedSender.objects.get_or_create(
        workspace=workspace, address_token=_sender_token(keys, address)
    )


def sender_distrust(*, keys: WorkspaceKeys, workspace: Workspace, address: str) -> None:
    TrustedSender.objects.filter(
        workspace=workspace, address_token=_sender_token(keys, address)
    ).delete()
