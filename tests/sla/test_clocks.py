"""Reply-time clocks moved by the pipeline (mail stored) and by triage (pending, snooze,
close, reopen), and their alerts, sent once. Calendar: weekdays 9-12 and 13-18, no holiday;
goals: first reply in 2 h, resolution in 16 h."""

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.utils import timezone

from inbox.actions.snooze import conversation_snooze, conversation_wake
from inbox.actions.triage import conversation_assign, conversation_set_status
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.models import Conversation, FolderRole, Notification, NotificationKind, Status
from sla.clocks import clock_alerts_due
from sla.models import ConversationClock
from tests.sla.conftest import paris

_uid = iter(range(1, 10_000))


def _mail(mailbox, at, *, outbound=False, reply_to=None, message_id=None) -> str:
    msg = EmailMessage()
    family = "Sophie Parent <sophie@famille.fr>"
    msg["From"] = mailbox.address if outbound else family
    msg["To"] = family if outbound else mailbox.address
    msg["Subject"] = "Re: Absence de Léa" if reply_to else "Absence de Léa"
    msg["Date"] = format_datetime(at)
    message_id = message_id or f"<m{next(_uid)}@test>"
    msg["Message-ID"] = message_id
    if reply_to:
        msg["In-Reply-To"] = msg["References"] = reply_to
    msg.set_content("Bonjour, Léa sera absente demain.")
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    raw = RawMail(provider_key=f"{folder.pk}:1:{next(_uid)}", raw=msg.as_bytes(), received_at=at)
    ingest_batch(mailbox=mailbox, folder=folder, mails=[raw])
    return message_id


def _clock() -> ConversationClock:
    return ConversationClock.objects.get()


def test_friday_evening_message_answered_monday_morning(goal_mailbox, now):
    asked = _mail(goal_mailbox, paris(2026, 3, 13, 17, 30))
    clock = _clock()
    assert clock.started_at == paris(2026, 3, 13, 17, 30)
    # 30 min on Friday, 1 h 30 on Monday from 9:00.
    assert clock.first_reply_due_at == paris(2026, 3, 16, 10, 30)
    # 16 h: 0.5 Friday + 8 Monday + 7.5 Tuesday (lunch breaks not counted).
    assert clock.resolution_due_at == paris(2026, 3, 17, 17, 30)
    assert clock.due_at == clock.first_reply_due_at

    now.at = paris(2026, 3, 16, 9, 45)
    _mail(goal_mailbox, now.at, outbound=True, reply_to=asked)
    clock = _clock()
    assert clock.first_replied_at == paris(2026, 3, 16, 9, 45)
    assert clock.due_at == clock.resolution_due_at


def test_auto_replies_start_no_clock(goal_mailbox, now, monkeypatch):
    monkeypatch.setattr("sla.clocks.is_auto_reply", lambda message: True)
    _mail(goal_mailbox, paris(2026, 3, 13, 17, 30))
    assert not ConversationClock.objects.exists()


def test_out_of_office_reply_is_not_a_first_reply(goal_mailbox, now, monkeypatch):
    asked = _mail(goal_mailbox, paris(2026, 3, 13, 17, 30))
    monkeypatch.setattr("sla.clocks.is_auto_reply", lambda message: True)
    _mail(goal_mailbox, paris(2026, 3, 13, 17, 31), outbound=True, reply_to=asked)
    assert _clock().first_replied_at is None


def test_pending_pauses_and_the_requester_resumes(goal_mailbox, now, alice):
    asked = _mail(goal_mailbox, paris(2026, 3, 16, 9))  # Monday 9:00, due 11:00
    conversation = Conversation.objects.get()
    now.at = paris(2026, 3, 16, 10)  # an hour used
    conversation_set_status(conversation=conversation, status=Status.PENDING, actor=alice)
    clock = _clock()
    assert clock.paused_at == now.at and clock.paused_reason == Status.PENDING
    assert clock.due_at is None and clock.first_reply_left == 3600
    # The requester answers Tuesday 14:00: the hour left runs from then.
    _mail(goal_mailbox, paris(2026, 3, 17, 14), reply_to=asked)
    clock = _clock()
    assert Conversation.objects.get().status == Status.OPEN
    assert clock.paused_at is None
    assert clock.first_reply_due_at == paris(2026, 3, 17, 15)
    # Paused from Monday 10:00 to Tuesday 14:00: 7 h Monday + 4 h Tuesday, in business time.
    assert clock.paused_seconds == 11 * 3600


def test_snooze_pauses_and_waking_resumes(goal_mailbox, now, alice):
    _mail(goal_mailbox, paris(2026, 3, 16, 9))
    conversation = Conversation.objects.get()
    now.at = paris(2026, 3, 16, 9, 30)
    until = timezone.now() + timedelta(days=30)  # the action checks it against the real time
    conversation_snooze(conversation=conversation, until=until, actor=alice)
    assert _clock().paused_reason == "snoozed" and _clock().due_at is None
    now.at = paris(2026, 3, 16, 14)  # 2 h 30 later (a lunch hour apart)
    conversation_wake(conversation=Conversation.objects.get(), actor=alice)
    clock = _clock()
    assert clock.paused_at is None
    assert clock.first_reply_due_at == paris(2026, 3, 16, 15, 30)
    assert clock.paused_seconds == int(3.5 * 3600)  # 9:30-12:00 and 13:00-14:00


def test_closed_stops_and_reopen_restarts_resolution(goal_mailbox, now, alice):
    asked = _mail(goal_mailbox, paris(2026, 3, 16, 9))
    _mail(goal_mailbox, paris(2026, 3, 16, 9, 30), outbound=True, reply_to=asked)
    conversation = Conversation.objects.get()
    now.at = paris(2026, 3, 16, 11)
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    clock = _clock()
    assert clock.resolved_at == now.at and clock.due_at is None
    now.at = paris(2026, 3, 18, 9)
    conversation_set_status(conversation=conversation, status=Status.OPEN, actor=alice)
    clock = _clock()
    assert clock.resolved_at is None
    assert clock.resolution_due_at == paris(2026, 3, 19, 18)  # 16 h from Wednesday 9:00
    assert clock.due_at == clock.resolution_due_at


def test_alerts_are_sent_once(goal_mailbox, now, alice, bob):
    _mail(goal_mailbox, paris(2026, 3, 16, 9))  # due 11:00; at risk from 10:36 (80 %)
    conversation = Conversation.objects.get()
    conversation_assign(conversation=conversation, assignee=bob, actor=alice)
    clock = _clock()
    assert clock.alert_at == paris(2026, 3, 16, 10, 36)
    kinds = lambda: sorted(  # noqa: E731
        Notification.objects.exclude(kind=NotificationKind.ASSIGNED).values_list(
            "kind", "recipient__email"
        )
    )
    assert clock_alerts_due(now=paris(2026, 3, 16, 10, 30)) == 0
    assert clock_alerts_due(now=paris(2026, 3, 16, 10, 40)) == 1
    assert clock_alerts_due(now=paris(2026, 3, 16, 10, 50)) == 0
    assert kinds() == [(NotificationKind.AT_RISK, bob.email)]
    assert _clock().alert_at == paris(2026, 3, 16, 11)
    assert clock_alerts_due(now=paris(2026, 3, 16, 11, 5)) == 1
    assert clock_alerts_due(now=paris(2026, 3, 16, 11, 6)) == 0
    assert kinds() == [(NotificationKind.AT_RISK, bob.email), (NotificationKind.LATE, alice.email)]
    assert _clock().alert_at is None


@pytest.mark.parametrize("goal_minutes", [None])
def test_mailbox_without_goal_has_no_clock(workspace, now, goal_minutes):
    from inbox.mail.mailboxes import mailbox_create

    mailbox = mailbox_create(workspace=workspace, address="accueil@lycee-verne.fr")
    _mail(mailbox, paris(2026, 12, 1, 10))
    assert not ConversationClock.objects.exists()


def test_history_synced_closed_starts_no_clock(workspace, now):
    from inbox.mail.mailboxes import mailbox_create
    from tests.sla.conftest import goals_for

    mailbox = mailbox_create(workspace=workspace, address="accueil@lycee-verne.fr")
    goals_for(mailbox)
    _mail(mailbox, timezone.now() - timedelta(days=60))  # older than the mailbox: history
    assert Conversation.objects.get().status == Status.CLOSED
    assert not ConversationClock.objects.exists()
