"""Celery tasks: thin, take ids, call one service each."""

from celery import shared_task


@shared_task(acks_late=True)
def sync_mailbox(mailbox_id: int) -> None:
    from inbox.mail.sync import mailbox_sync

    mailbox_sync(mailbox_id=mailbox_id)


@shared_task
def sync_all_mailboxes() -> None:
    """Polling fallback and retry loop: queue every mailbox that is due."""
    from inbox.mail.sync import mailboxes_due
    from trupeo.queueing import enqueue

    for mailbox_id in mailboxes_due():
        enqueue(sync_mailbox, mailbox_id)


@shared_task(acks_late=True)
def send_outgoing(outgoing_id: int) -> None:
    from inbox.mail.sending import outgoing_send

    outgoing_send(outgoing_id=outgoing_id)


@shared_task
def recover_stuck_sends() -> None:
    from inbox.mail.sending import outgoing_recover_stuck

    outgoing_recover_stuck()


@shared_task
def email_notification(notification_id: int) -> None:
    from inbox.actions.notifications import notification_email

    notification_email(notification_id=notification_id)


@shared_task
def requeue_notification_emails() -> None:
    from inbox.actions.notifications import notification_emails_requeue

    notification_emails_requeue()


@shared_task
def wake_snoozed() -> None:
    from inbox.actions.snooze import snoozed_wake_due

    snoozed_wake_due()
