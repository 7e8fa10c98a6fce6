"""Celery tasks: thin, take ids, call one service each."""

from celery import shared_task


@shared_task(acks_late=True)
def sync_mailbox(mailbox_id: int) -> None:
    from inbox.mail.sync import mailbox_sync

    mailbox_sync(mailbox_id=mailbox_id)


@shared_task(bind=True, acks_late=True, max_retries=30)
def sync_mailbox_now(self, mailbox_id: int) -> None:
    """A sync asked by push or IDLE: new mail is waiting. When another sync of the mailbox
    is running it may already be past the new message, so this one runs after it."""
    from inbox.mail.sync import mailbox_sync

    if mailbox_sync(mailbox_id=mailbox_id).skipped_busy:
        raise self.retry(countdown=1)


@shared_task
def renew_push_subscriptions() -> None:
    """Start push where it is missing, renew it where it ends soon (hourly)."""
    from inbox.mail.push import push_due
    from trupeo.queueing import enqueue

    for mailbox_id in push_due():
        enqueue(renew_push, mailbox_id)


@shared_task
def renew_push(mailbox_id: int) -> None:
    from inbox.mail.push import push_renew
    from inbox.models import Mailbox

    mailbox = Mailbox.objects.select_related("workspace").filter(pk=mailbox_id).first()
    if mailbox is not None:
        push_renew(mailbox=mailbox)


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
