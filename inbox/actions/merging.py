"""Merge two conversations, or split one from a message on: the threading's manual override.

Both keep the workspace's invariants: counters and the sealed summary are recomputed from the
messages that end up in each conversation, and the trail says who did it.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import User
from inbox.actions.triage import record
from inbox.mail.recount import conversation_recount, conversations_lock
from inbox.models import (
    Activity,
    ActivityKind,
    Conversation,
    ConversationTag,
    Follow,
    Message,
    Note,
    Notification,
    Outgoing,
    ThreadReason,
)


@transaction.atomic
def conversation_merge(*, source: Conversation, target: Conversation, actor: User) -> None:
    """Everything of `source` moves into `target`; `source` is gone afterwards."""
    if source.pk == target.pk:
        raise ValidationError(_("A conversation cannot be merged into itself."))
    if source.workspace_id != target.workspace_id or source.mailbox_id != target.mailbox_id:
        raise ValidationError(_("Only conversations of the same mailbox can be merged."))
    if len(conversations_lock([source.pk, target.pk])) < 2:
        raise _gone()
    Message.objects.filter(conversation=source).update(
        conversation=target, thread_reason=ThreadReason.MANUAL
    )
    for model in (Note, Activity, Outgoing, Notification):
        model.objects.filter(conversation=source).update(conversation=target)
    existing_tags = ConversationTag.objects.filter(conversation=target).values("tag_id")
    ConversationTag.objects.filter(conversation=source).exclude(tag_id__in=existing_tags).update(
        conversation=target
    )
    existing_follows = Follow.objects.filter(conversation=target).values("user_id")
    Follow.objects.filter(conversation=source).exclude(user_id__in=existing_follows).update(
        conversation=target
    )
    source_id = source.pk
    source.delete()
    conversation_recount(keys_for(target.workspace), target)
    record(target, actor, ActivityKind.MERGED, other_conversation_id=source_id)


@transaction.atomic
def conversation_split(*, message: Message, actor: User) -> Conversation:
    """`message` and every later one start a new conversation of the same mailbox."""
    conversations_lock([message.conversation_id])
    still_there = Message.objects.filter(pk=message.pk, conversation_id=message.conversation_id)
    if not still_there.exists():  # merged or split elsewhere since the page read it
        raise _gone()
    old = Conversation.objects.get(pk=message.conversation_id)
    moving = Message.objects.filter(conversation=old).filter(
        received_at__gt=message.received_at
    ) | Message.objects.filter(
        conversation=old, received_at=message.received_at, id__gte=message.pk
    )
    if moving.count() == old.message_count:
        raise ValidationError(_("Split from a later message: this one starts the conversation."))
    new = Conversation.objects.create(
        workspace_id=old.workspace_id,
        mailbox_id=old.mailbox_id,
        status=old.status,
        closed_at=old.closed_at,
        summary_sealed=b"",
        subject_token=old.subject_token,
        last_message_at=message.received_at,
        first_message_at=message.received_at,
    )
    moved_ids = list(moving.values_list("pk", flat=True))
    Message.objects.filter(pk__in=moved_ids).update(
        conversation=new, thread_reason=ThreadReason.MANUAL
    )
    Outgoing.objects.filter(message_id__in=moved_ids).update(conversation=new)
    keys = keys_for(old.workspace)
    conversation_recount(keys, old)
    conversation_recount(keys, new)
    record(old, actor, ActivityKind.SPLIT, other_conversation_id=new.pk)
    record(new, actor, ActivityKind.SPLIT, other_conversation_id=old.pk)
    return new


def _gone() -> ValidationError:
    """What a merge or a split says of a conversation another change took away meanwhile."""
    return ValidationError(_("This conversation was just merged or deleted: reload the page."))
