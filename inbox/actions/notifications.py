"""Notifications: in the app always, by email when the person's preferences say so.

The email names the event, the mailbox and a link — never the subject or a word of the mail
or the note: content stays behind the workspace's key, not in someone's mail provider.
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Membership, User
from inbox.mail.search import fold
from inbox.models import (
    Conversation,
    Follow,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from inbox.tasks import email_notification
from trupeo.queueing import enqueue, enqueue_on_commit

logger = logging.getLogger(__name__)

_PREFERENCE_FIELD = {
    NotificationKind.ASSIGNED: "email_assigned",
    NotificationKind.MENTIONED: "email_mentioned",
    NotificationKind.REPLY: "email_reply",
    NotificationKind.WOKE: "email_woke",
    # Reply-time goals are about the conversations one is in charge of, as assignments are.
    NotificationKind.AT_RISK: "email_assigned",
    NotificationKind.LATE: "email_assigned",
}
# A notification whose email task has not settled it this long after it was created is queued
# again; one older than a day is no longer worth an email.
EMAIL_REQUEUE_AFTER = timedelta(minutes=2)
EMAIL_GIVE_UP_AFTER = timedelta(days=1)
_MENTION = re.compile(r"(?<![\w@])@([\w][\w.-]*)")


def notify(
    *, conversation: Conversation, recipients: list[User] | set[User], kind: str, actor=None
) -> list[Notification]:
    """One notification per recipient (never the actor themself), mailed after commit."""
    created = []
    for recipient in recipients:
        if actor is not None and recipient.pk == actor.pk:
            continue
        created.append(
            Notification.objects.create(
                workspace_id=conversation.workspace_id,
                recipient=recipient,
                conversation=conversation,
                kind=kind,
                actor=actor,
            )
        )
    if created:
        for notification in created:
            enqueue_on_commit(email_notification, notification.pk)
    return created


def mentioned_members(workspace_id: int, text: str) -> list[User]:
    """Teammates named with @ in a note: @first-name, @full.name or @the-address's-user-part."""
    handles = {fold(h).strip(".-") for h in _MENTION.findall(text)}
    if not handles:
        return []
    found = []
    members = Membership.objects.filter(workspace_id=workspace_id).select_related("user")
    for member in members:
        user = member.user
        name = fold(user.name)
        names = {
            user.email.split("@")[0].lower(),
            name.replace(" ", "."),
            name.replace(" ", "-"),
            name.replace(" ", ""),
            *name.split()[:1],
        }
        if handles & names:
            found.append(user)
    return found


def follow(*, conversation: Conversation, user: User) -> None:
    # One INSERT … ON CONFLICT DO NOTHING (the pair is unique), where get_or_create reads
    # first and, for a new follower, adds a savepoint around its insert: four queries.
    Follow.objects.bulk_create(
        [Follow(conversation=conversation, user=user)], ignore_conflicts=True
    )


def unfollow(*, conversation: Conversation, user: User) -> None:
    Follow.objects.filter(conversation=conversation, user=user).delete()


def preferences_for(*, user: User, workspace_id: int) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.get_or_create(
        user=user, workspace_id=workspace_id
    )
    return preference


def notifications_mark_read(*, user: User, workspace_id: int, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(
        recipient=user, workspace_id=workspace_id, read_at__isnull=True
    )
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def conversation_notifications_read(*, user: User, conversation: Conversation) -> None:
    """Opening a conversation reads its notifications."""
    Notification.objects.filter(
        recipient=user, conversation=conversation, read_at__isnull=True
    ).update(read_at=timezone.now())


def notification_email(*, notification_id: int) -> bool:
    """Mail one notification if the preferences allow it and it is not read nor mailed yet.

    Settles the notification's email either way (`email_due`), under a row lock: a task
    queued twice (the sweep after a broker outage) mails it once."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient", "actor", "conversation__mailbox")
            .filter(pk=notification_id, email_due=True, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        notification.email_due = False
        preference = preferences_for(
            user=notification.recipient, workspace_id=notification.workspace_id
        )
        if notification.read_at is not None or not getattr(
            preference, _PREFERENCE_FIELD[notification.kind]
        ):
            notification.save(update_fields=["email_due"])
            return False
        recipient = notification.recipient
        context = {
            "kind": notification.kind,
            "actor": notification.actor.display_name if notification.actor else "",
            "mailbox": notification.conversation.mailbox.address,
            "url": settings.SITE_URL.rstrip("/")
            + reverse("conversation", args=[notification.conversation_id]),
            "preferences_url": settings.SITE_URL.rstrip("/") + reverse("notification_settings"),
        }
        with translation.override(recipient.language):
            subject = render_to_string("inbox/email/notification_subject.txt", context).strip()
            body = render_to_string("inbox/email/notification_message.txt", context)
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at", "email_due"])
        pk, to = notification.pk, recipient.email
        transaction.on_commit(lambda: _send_or_put_back(pk, subject, body, to))
    return True


def _send_or_put_back(notification_id: int, subject: str, body: str, to: str) -> None:
    """Send after the claim is committed; if the mail service is down, the notification goes
    back to the outbox for the sweep (a mail is lost only if the service took it and still
    answered an error)."""
    try:
        send_mail(subject, body, None, [to])
    except Exception as error:  # any backend's failure (SMTP, HTTP API): retried, not lost
        logger.warning(
            "notification %s: email not sent (%s), left for the sweep",
            notification_id,
            type(error).__name__,
        )
        Notification.objects.filter(pk=notification_id).update(emailed_at=None, email_due=True)


def notification_emails_requeue(*, now: datetime | None = None) -> int:
    """Run periodically (beat): queue again the emails whose task never ran (the broker was
    down when they were created). Too old to be useful, they are settled without a mail."""
    now = now or timezone.now()
    due = Notification.objects.filter(email_due=True, created_at__lt=now - EMAIL_REQUEUE_AFTER)
    due.filter(created_at__lt=now - EMAIL_GIVE_UP_AFTER).update(email_due=False)
    queued = 0
    for pk in due.values_list("pk", flat=True).order_by("pk")[:1000]:
        queued += enqueue(email_notification, pk)
    return queued
