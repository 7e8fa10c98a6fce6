"""Triage writes: assign, change status, add an internal note. Each leaves an activity.

Whoever is assigned a conversation or writes a note on it follows it from then on.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.actions import notifications
from inbox.actions.automatic import requester_notify_closed
from inbox.inbox_version import workspace_touched
from inbox.mail.sealing import note_row
from inbox.models import Activity, ActivityKind, Conversation, Note, NotificationKind, Status
from inbox.signals import conversation_status_changed


@transaction.atomic
def conversation_assign(*, conversation: Conversation, assignee: User | None, actor: User) -> None:
    if (
        assignee is not None
        and not Membership.objects.filter(
            workspace_id=conversation.workspace_id, user=assignee
        ).exists()
    ):
        raise ValidationError(_("That person is not a member of this workspace."))
    if conversation.assignee_id == (assignee.pk if assignee else None):
        return
    rows = Conversation.objects.filter(pk=conversation.pk)
    # From one person to another moves no team count (only "Unassigned" looks at assignees).
    # Told by the row as the UPDATE finds it, not by `conversation`, which may be stale.
    between_people = (
        assignee is not None and rows.filter(assignee__isnull=False).update(assignee=assignee) == 1
    )
    if not between_people:
        rows.update(assignee=assignee)
    conversation.assignee = assignee
    record(conversation, actor, ActivityKind.ASSIGNED, counts=not between_people, assignee=assignee)
    if assignee is not None:
        notifications.follow(conversation=conversation, user=assignee)
        notifications.notify(
            conversation=conversation,
            recipients=[assignee],
            kind=NotificationKind.ASSIGNED,
            actor=actor,
        )


@transaction.atomic
def conversation_set_status(*, conversation: Conversation, status: str, actor: User) -> None:
    if status not in (Status.OPEN, Status.PENDING, Status.CLOSED, Status.SPAM):
        raise ValidationError(_("Unknown status."))
    if conversation.status == status:
        return
    previous = conversation.status
    closed_at = timezone.now() if status == Status.CLOSED else None
    Conversation.objects.filter(pk=conversation.pk).update(
        status=status, snoozed_until=None, closed_at=closed_at
    )
    conversation.status, conversation.snoozed_until = status, None
    conversation.closed_at = closed_at
    record(conversation, actor, ActivityKind.STATUS, status=status)
    conversation_status_changed.send(
        Conversation, conversation=conversation, status=status, previous=previous
    )
    if status == Status.CLOSED:
        requester_notify_closed(conversation=conversation)  # when the mailbox asks for it


@transaction.atomic
def note_add(*, conversation: Conversation, author: User, body: str) -> Note:
    body = body.strip()
    if not body:
        raise ValidationError(_("A note cannot be empty."))
    note = Note.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        author=author,
        body_sealed=b"",
    )
    # Sealed under its own row id, known only once the row exists.
    note.body_sealed = keys_for(conversation.workspace).seal_text(
        body, field="note.body", row=note_row(note.pk)
    )
    note.save(update_fields=["body_sealed"])
    record(conversation, author, ActivityKind.NOTE)
    notifications.follow(conversation=conversation, user=author)
    notifications.notify(
        conversation=conversation,
        recipients=notifications.mentioned_members(conversation.workspace_id, body),
        kind=NotificationKind.MENTIONED,
        actor=author,
    )
    return note


def record(
    conversation: Conversation, actor: User | None, kind: str, *, counts: bool = True, **fields
) -> None:
    """One line of the trail (no content: ids, a status, a time); lists see the change. A
    note changes nothing a list shows or counts: the lists and counts are not redone for it;
    `counts=False`: the lists are, but the team's counts cannot have moved."""
    if kind != ActivityKind.NOTE:
        workspace_touched(conversation.workspace_id, counts=counts)
    Activity.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        actor=actor,
        kind=kind,
        **fields,
    )
