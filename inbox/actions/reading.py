"""Reading a conversation: marking it read for me, and trusting (or no longer) a sender's images."""

from django.utils import timezone

from accounts.models import User, Workspace
from inbox.actions.notifications import conversation_notifications_read
from inbox.models import Conversation, ConversationRead, TrustedSender
from inbox.selectors.conversation_page import sender_token
from trupeo.crypto import WorkspaceKeys


def conversation_mark_read(*, conversation: Conversation, user: User) -> None:
    """`conversation` comes from `for_page(user)`, with when `user` last read it: opened again
    with nothing new since, nothing is written (the lists compare that time with the newest
    message's). Otherwise one upsert: opening a conversation is the most frequent write there is."""
    if conversation.read_at is None or conversation.read_at < conversation.last_message_at:
        ConversationRead.objects.bulk_create(
            [ConversationRead(user=user, conversation=conversation, read_at=timezone.now())],
            update_conflicts=True,
            unique_fields=["user", "conversation"],
            update_fields=["read_at"],
        )
    conversation_notifications_read(user=user, conversation=conversation)


def sender_trust(*, keys: WorkspaceKeys, workspace: Workspace, address: str) -> None:
    TrustedSender.objects.get_or_create(
        workspace=workspace, address_token=sender_token(keys, address)
    )


def sender_distrust(*, keys: WorkspaceKeys, workspace: Workspace, address: str) -> None:
    TrustedSender.objects.filter(
        workspace=workspace, address_token=sender_token(keys, address)
    ).delete()
