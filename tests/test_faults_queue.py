"""The notification emails' outbox: a task lost with the broker is queued again by the sweep,
and however many tasks run, each notification is mailed at most once — or settled without a
mail when it no longer should be."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from inbox.actions.notifications import notification_email, notification_emails_requeue, notify
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, Notification, NotificationKind
from inbox.tasks import email_notification
from tests.mail import french_message, one_message_conversation
from tests.parts import free_loopback_port


@pytest.fixture
def queued(monkeypatch):
    """Celery is not under test here: what would be queued."""
    calls: list[int] = []
    monkeypatch.setattr(email_notification, "delay", lambda pk: calls.append(pk))
    return calls


@pytest.fixture
def conversation(workspace):
    return one_message_conversation(workspace)


def _notify(conversation, recipient, actor, captured) -> Notification:
    with captured(execute=False):  # the broker never hears of it (it was down)
        (notification,) = notify(
            conversation=conversation,
            recipients=[recipient],
            kind=NotificationKind.ASSIGNED,
            actor=actor,
        )
    return notification


def test_a_lost_task_is_queued_again_and_mails_once(
    conversation, alice, bob, queued, django_capture_on_commit_callbacks
):
    notification = _notify(conversation, bob, alice, django_capture_on_commit_callbacks)
    assert notification.email_due
    # Not yet: its own task may still be on the way.
    assert notification_emails_requeue() == 0
    later = timezone.now() + timedelta(minutes=5)
    assert notification_emails_requeue(now=later) == 1
    assert queued == [notification.pk]
    mail.outbox.clear()
    for _ in range(3):  # the sweep's task, its own one arriving late, a redelivery
        with django_capture_on_commit_callbacks(execute=True):
            notification_email(notification_id=notification.pk)
    assert [m.to for m in mail.outbox] == [[bob.email]]
    notification.refresh_from_db()
    assert not notification.email_due and notification.emailed_at is not None
    assert notification_emails_requeue(now=later) == 0  # settled: nothing to queue


def test_read_or_stale_notifications_are_settled_without_a_mail(
    conversation, alice, bob, queued, django_capture_on_commit_callbacks
):
    read = _notify(conversation, bob, alice, django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert notification_email(notification_id=read.pk) is False
    read.refresh_from_db()
    assert not read.email_due and mail.outbox == []

    stale = _notify(conversation, alice, bob, django_capture_on_commit_callbacks)
    assert notification_emails_requeue(now=timezone.now() + timedelta(days=2)) == 0
    stale.refresh_from_db()
    assert not stale.email_due  # a day late, an email would be noise: settled, not sent
    assert queued == []


@pytest.mark.django_db(transaction=True)
def test_mail_service_down_puts_the_email_back_for_the_sweep(
    workspace, alice, bob, settings, smtp_server, queued
):
    def mailer(port: int) -> dict:
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {
                    "host": "127.0.0.1",
                    "port": port,
                    "username": smtp_server.username,
                    "password": smtp_server.password,
                    "timeout": 5,
                },
            }
        }

    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role="inbox"),
        mails=[RawMail(provider_key="x:1:1", raw=french_message(1), received_at=timezone.now())],
    )
    (notification,) = notify(
        conversation=Conversation.objects.get(),
        recipients=[bob],
        kind=NotificationKind.ASSIGNED,
        actor=alice,
    )
    settings.MAILERS = mailer(free_loopback_port())  # the mail service is down
    assert notification_email(notification_id=notification.pk) is True
    notification.refresh_from_db()
    assert notification.email_due and notification.emailed_at is None  # back in the outbox

    settings.MAILERS = mailer(smtp_server.port)  # back up
    later = timezone.now() + timedelta(minutes=5)
    assert notification_emails_requeue(now=later) == 1
    for _ in range(2):  # the swept task, and a late duplicate
        notification_email(notification_id=notification.pk)
    assert [m.rcpt_tos for m in smtp_server.messages] == [(bob.email,)]
