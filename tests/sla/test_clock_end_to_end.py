"""A clock on a conversation synced from Dovecot, paused while pending, and stopped by a reply
sent through the real sending path (SMTP, then filed in Dovecot's Sent and stored again)."""

from datetime import time, timedelta

from inbox.actions.triage import conversation_set_status
from inbox.mail.sending import outgoing_create, outgoing_queue, outgoing_send
from inbox.mail.sync import mailbox_sync
from inbox.models import Conversation, Message, OutgoingKind, SendState, Status
from sla.models import BusinessCalendar, ConversationClock, OpeningInterval, ReplyGoal
from tests.mail import french_message, loopback_mailbox
from tests.sending_tasks import sends_recorded


def _always_open(workspace) -> None:
    """Open all day every day: the deadlines are the wall-clock ones, whatever day tests run."""
    calendar = BusinessCalendar.objects.create(workspace=workspace, public_holidays=False)
    for weekday in range(7):
        OpeningInterval.objects.create(
            workspace=workspace, calendar=calendar, weekday=weekday, start=time(0), end=time(0)
        )


def test_synced_conversation_clock_pending_then_replied(
    workspace, alice, dovecot, smtp_server, monkeypatch
):
    sends = sends_recorded(monkeypatch)
    user, password = dovecot.add_user("sla-clock")
    dovecot.create_folder(user, "Sent")
    dovecot.append(user, "INBOX", french_message(1))
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    _always_open(workspace)
    ReplyGoal.objects.create(
        workspace=workspace, mailbox=mailbox, first_reply_minutes=120, resolution_minutes=480
    )

    mailbox_sync(mailbox_id=mailbox.pk)
    customer = Message.objects.get(mailbox=mailbox)
    clock = ConversationClock.objects.get(conversation_id=customer.conversation_id)
    assert clock.started_at == customer.received_at
    assert clock.first_reply_due_at == customer.received_at + timedelta(hours=2)
    assert clock.resolution_due_at == customer.received_at + timedelta(hours=8)
    assert clock.due_at == clock.first_reply_due_at and clock.alert_at is not None

    conversation = Conversation.objects.get()
    conversation_set_status(conversation=conversation, status=Status.PENDING, actor=alice)
    clock.refresh_from_db()
    assert clock.paused_reason == Status.PENDING and clock.due_at is None
    conversation_set_status(conversation=conversation, status=Status.OPEN, actor=alice)
    clock.refresh_from_db()
    assert clock.paused_at is None and clock.due_at is not None

    outgoing = outgoing_create(
        mailbox=mailbox,
        conversation=conversation,
        author=alice,
        kind=OutgoingKind.REPLY,
        body="Bonjour, c’est noté.",
        reply_to_message=customer,
    )
    outgoing_queue(outgoing=outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert len(smtp_server.messages) == 1 and sends in ([], [outgoing.pk])
    reply = Message.objects.get(mailbox=mailbox, direction="out")
    clock.refresh_from_db()
    assert clock.first_replied_at == reply.received_at
    assert clock.due_at == clock.resolution_due_at

    # The Sent folder synced later changes nothing: the same message is not stored twice.
    mailbox_sync(mailbox_id=mailbox.pk)
    clock.refresh_from_db()
    assert clock.first_replied_at == reply.received_at
