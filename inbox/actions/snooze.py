"""Snooze: a conversation leaves every view but "Snoozed" until a time or a customer's reply."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from inbox.actions.notifications import notify
from inbox.actions.triage import record
from inbox.models import Activity, ActivityKind, Conversation, NotificationKind, Status
from inbox.signals import conversation_snooze_changed

MAX_SNOOZE = timedelta(days=366)
MORNING = 9  # presets wake people up at 9:00, their time

PRESETS = {
    "later": gettext_lazy("In 3 hours"),
    "tomorrow": gettext_lazy("Tomorrow morning"),
    "monday": gettext_lazy("Next Monday"),
    "week": gettext_lazy("In a week"),
}


def local_morning(now: datetime, *, days: int, hour: int = MORNING) -> datetime:
    """`hour`:00 in the server's time zone (Europe/Paris), `days` after `now`'s day; "next
    Monday" is `days=7 - weekday`. Presets of snoozes, reminders and sending later use it."""
    now = timezone.localtime(now)
    return now.replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)


def preset_time(name: str, now: datetime | None = None) -> datetime:
    """The wake-up time of a preset, in the server's time zone (Europe/Paris)."""
    now = timezone.localtime(now or timezone.now())
    if name == "later":
        return now + timedelta(hours=3)
    if name == "tomorrow":
        return local_morning(now, days=1)
    if name == "monday":
        return local_morning(now, days=7 - now.weekday())
    if name == "week":
        return local_morning(now, days=7)
    raise ValidationError(_("Unknown snooze choice."))


@transaction.atomic
def conversation_snooze(*, conversation: Conversation, until: datetime, actor: User) -> None:
    now = timezone.now()
    if until <= now:
        raise ValidationError(_("Choose a time in the future."))
    if until > now + MAX_SNOOZE:
        raise ValidationError(_("A conversation can be snoozed for a year at most."))
    if conversation.status in (Status.CLOSED, Status.SPAM):
        raise ValidationError(_("Reopen the conversation before snoozing it."))
    Conversation.objects.filter(pk=conversation.pk).update(snoozed_until=until)
    conversation.snoozed_until = until
    record(conversation, actor, ActivityKind.SNOOZED, snoozed_until=until)
    conversation_snooze_changed.send(Conversation, conversation=conversation, until=until)


@transaction.atomic
def conversation_wake(*, conversation: Conversation, actor: User | None) -> bool:
    """Back in the inbox now (by hand, by the clock with `actor=None`, or by a reply)."""
    updated = Conversation.objects.filter(pk=conversation.pk, snoozed_until__isnull=False).update(
        snoozed_until=None
    )
    conversation.snoozed_until = None
    if not updated:
        return False
    record(conversation, actor, ActivityKind.WOKE)
    conversation_snooze_changed.send(Conversation, conversation=conversation, until=None)
    if actor is None:
        _tell_who_cares(conversation)
    return True


def _tell_who_cares(conversation: Conversation) -> None:
    """The assignee, or else whoever snoozed it, hears that it is back."""
    recipient = conversation.assignee
    if recipient is None:
        snoozed = (
            Activity.objects.filter(conversation=conversation, kind=ActivityKind.SNOOZED)
            .select_related("actor")
            .order_by("-created_at", "-id")
            .first()
        )
        recipient = snoozed.actor if snoozed else None
    if recipient is not None:
        notify(conversation=conversation, recipients=[recipient], kind=NotificationKind.WOKE)


def snoozed_wake_due(now: datetime | None = None, limit: int = 500) -> int:
    """Wake every conversation whose time has come (the beat runs this every 30 s)."""
    now = now or timezone.now()
    due = list(
        Conversation.objects.filter(snoozed_until__lte=now)
        .select_related("assignee")
        .order_by("snoozed_until")[:limit]
    )
    return sum(conversation_wake(conversation=c, actor=None) for c in due)
