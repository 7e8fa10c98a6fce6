"""Reply-time clocks: a requester's message starts them, the first reply stops the first one,
closing stops the resolution one; pending on the requester and snoozes pause both; reopening
restarts the resolution clock. All in business time of the mailbox's calendar.

Fed by the pipeline (`inbox.mail.signals.mail_stored`) and by triage
(`inbox.signals`); receivers are connected in sla/apps.py. Every write happens in the
transaction of the change that caused it.
"""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User
from inbox.actions.notifications import notify
from inbox.mail.signals import Arrivals
from inbox.models import Conversation, Direction, Mailbox, Message, NotificationKind, Status
from sla.business_time import Calendar, NeverOpen, add_business_seconds, business_seconds_between
from sla.calendars import Goal, calendar_for_mailbox, goal_for_mailbox
from sla.models import ConversationClock

FIRST_REPLY = "first_reply"
RESOLUTION = "resolution"
SNOOZED = "snoozed"  # a paused_reason, beside the statuses


def clock_now() -> datetime:
    """The time clocks are measured at (one place for tests to move)."""
    return timezone.now()


def is_auto_reply(message: Message) -> bool:
    """An automatic message (out-of-office, our acknowledgement) never starts, restarts, resumes
    nor answers a clock: the parser's `Message.is_auto_reply` (RFC 3834 headers)."""
    return message.is_auto_reply


class Clocks:
    """The clock operations for one mailbox: its calendar and goal, read once."""

    def __init__(self, mailbox: Mailbox):
        self.calendar: Calendar = calendar_for_mailbox(mailbox)
        self.goal: Goal = goal_for_mailbox(mailbox)

    def due(self, start: datetime, seconds: int | None) -> datetime | None:
        if seconds is None:
            return None
        try:
            return add_business_seconds(self.calendar, start, seconds)
        except NeverOpen:
            return None

    def left(self, now: datetime, due: datetime | None) -> int | None:
        """Business seconds from now to `due` (negative: late by that much)."""
        if due is None:
            return None
        if due >= now:
            return business_seconds_between(self.calendar, now, due)
        return -business_seconds_between(self.calendar, due, now)

    def start(self, clock: ConversationClock, at: datetime) -> None:
        clock.started_at = at
        clock.first_reply_due_at = self.due(at, self.goal.first_reply)
        clock.resolution_due_at = self.due(at, self.goal.resolution)

    def restart_resolution(self, clock: ConversationClock, at: datetime) -> None:
        clock.resolved_at = None
        clock.resolution_due_at = self.due(at, self.goal.resolution)
        clock.resolution_left = None
        clock.resolution_at_risk_sent = clock.resolution_late_sent = False

    def pause(self, clock: ConversationClock, at: datetime, reason: str) -> None:
        if clock.paused_at is not None:
            clock.paused_reason = reason
            return
        if clock.first_replied_at is None:
            clock.first_reply_left = self.left(at, clock.first_reply_due_at)
        if clock.resolved_at is None:
            clock.resolution_left = self.left(at, clock.resolution_due_at)
        clock.paused_at, clock.paused_reason = at, reason

    def resume(self, clock: ConversationClock, at: datetime) -> None:
        if clock.paused_at is None:
            return
        at = max(at, clock.paused_at)
        clock.paused_seconds += business_seconds_between(self.calendar, clock.paused_at, at)
        # A goal already missed stays missed; the others get back the time they had left.
        if clock.first_reply_left is not None and clock.first_reply_left > 0:
            clock.first_reply_due_at = self.due(at, clock.first_reply_left)
        if clock.resolution_left is not None and clock.resolution_left > 0:
            clock.resolution_due_at = self.due(at, clock.resolution_left)
        clock.first_reply_left = clock.resolution_left = None
        clock.paused_at, clock.paused_reason = None, ""

    def target(self, clock: ConversationClock) -> tuple[str, datetime, int] | None:
        """The running goal: (which, due, goal seconds), or None."""
        if clock.paused_at is not None or clock.resolved_at is not None:
            return None
        if clock.first_replied_at is None and clock.first_reply_due_at and self.goal.first_reply:
            return FIRST_REPLY, clock.first_reply_due_at, self.goal.first_reply
        if clock.resolution_due_at and self.goal.resolution:
            return RESOLUTION, clock.resolution_due_at, self.goal.resolution
        return None

    def schedule(self, clock: ConversationClock, now: datetime) -> None:
        """Set `due_at` (what the lists sort by) and `alert_at` (when the beat looks next)."""
        target = self.target(clock)
        clock.due_at = clock.alert_at = None
        if target is None:
            return
        which, due, goal = target
        clock.due_at = due
        at_risk_sent = getattr(clock, f"{which}_at_risk_sent")
        late_sent = getattr(clock, f"{which}_late_sent")
        if not at_risk_sent:
            # At risk once `at_risk_percent` of the goal is used: this much is left then.
            margin = goal * (100 - self.goal.at_risk_percent) // 100
            left = self.left(now, due)
            clock.alert_at = now if left <= margin else self.due(now, left - margin)
        elif not late_sent:
            clock.alert_at = due


def _conversation_status(stored_message: Message, conversation: Conversation | None) -> str:
    return conversation.status if conversation is not None else stored_message.conversation.status


def clocks_on_stored(*, mailbox: Mailbox, arrivals: Arrivals) -> None:
    """The batch's messages move the clocks, in the order they were written."""
    clocks = Clocks(mailbox)
    if clocks.goal.first_reply is None and clocks.goal.resolution is None:
        return
    by_conversation: dict[int, list[Message]] = defaultdict(list)
    conversations: dict[int, Conversation] = {}
    for stored in arrivals.stored:
        message = stored.message
        if is_auto_reply(message):
            continue
        by_conversation[message.conversation_id].append(message)
        conversations.setdefault(message.conversation_id, message.conversation)
    if not by_conversation:
        return
    existing = {
        c.conversation_id: c
        for c in ConversationClock.objects.filter(conversation_id__in=list(by_conversation))
    }
    now = clock_now()
    changed, created = [], []
    for conversation_id, messages in by_conversation.items():
        conversation = conversations[conversation_id]
        clock = existing.get(conversation_id)
        touched = False
        for message in sorted(messages, key=lambda m: (m.received_at, m.pk)):
            at = message.received_at
            if message.direction == Direction.INBOUND:
                if conversation.status != Status.OPEN:
                    continue  # history synced closed, spam: no clock
                if clock is None:
                    clock = ConversationClock(
                        conversation_id=conversation_id, workspace_id=mailbox.workspace_id
                    )
                    clocks.start(clock, at)
                    created.append(clock)
                elif clock.paused_at is not None:
                    # The requester wrote back: the pipeline reopened (or woke) it.
                    clocks.resume(clock, at)
                    if clock.resolved_at is not None:
                        clocks.restart_resolution(clock, at)
                elif clock.resolved_at is not None:
                    clocks.restart_resolution(clock, at)
                touched = True
            elif clock is not None and clock.first_replied_at is None and at >= clock.started_at:
                clock.first_replied_at = at
                touched = True
        if clock is not None and touched:
            clocks.schedule(clock, now)
            if clock not in created:
                changed.append(clock)
    if created:
        ConversationClock.objects.bulk_create(created, ignore_conflicts=True)
    for clock in changed:
        clock.save()


def mail_stored_received(sender, *, mailbox: Mailbox, arrivals: Arrivals, **kwargs) -> None:
    clocks_on_stored(mailbox=mailbox, arrivals=arrivals)


def _clock_of(conversation: Conversation) -> tuple[ConversationClock, Clocks] | None:
    clock = ConversationClock.objects.select_for_update().filter(conversation=conversation).first()
    if clock is None:
        return None
    mailbox = Mailbox.objects.select_related("workspace").get(pk=conversation.mailbox_id)
    return clock, Clocks(mailbox)


@transaction.atomic
def clock_status_changed(*, conversation: Conversation, status: str, previous: str) -> None:
    """Pending waits on the requester (paused), closed and spam stop, open runs again."""
    found = _clock_of(conversation)
    if found is None:
        return
    clock, clocks = found
    now = clock_now()
    if status == Status.OPEN:
        clocks.resume(clock, now)
        if clock.resolved_at is not None:
            clocks.restart_resolution(clock, now)
        if conversation.snoozed_until is not None and conversation.snoozed_until > now:
            clocks.pause(clock, now, SNOOZED)
    elif status == Status.PENDING:
        if clock.resolved_at is not None:
            clocks.restart_resolution(clock, now)
        clocks.pause(clock, now, Status.PENDING)
    else:  # closed or spam: stopped; the first reply's remaining time is kept for a reopen
        clocks.pause(clock, now, status)
        clock.resolved_at = clock.resolved_at or now
    clocks.schedule(clock, now)
    clock.save()


@transaction.atomic
def clock_snooze_changed(*, conversation: Conversation, until: datetime | None) -> None:
    """A snooze pauses a running clock; waking (by hand, time or reply) runs it again."""
    found = _clock_of(conversation)
    if found is None:
        return
    clock, clocks = found
    now = clock_now()
    if until is not None:
        if clock.paused_at is not None:
            return  # pending or closed already: it stays so
        clocks.pause(clock, now, SNOOZED)
    elif clock.paused_reason == SNOOZED and conversation.status == Status.OPEN:
        clocks.resume(clock, now)
    else:
        return
    clocks.schedule(clock, now)
    clock.save()


def status_changed_received(sender, *, conversation, status, previous, **kwargs) -> None:
    clock_status_changed(conversation=conversation, status=status, previous=previous)


def snooze_changed_received(sender, *, conversation, until, **kwargs) -> None:
    clock_snooze_changed(conversation=conversation, until=until)


def clock_alerts_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Run by the beat: tell the assignee of conversations at risk and the chosen person of
    late ones, once each (flags set under the row lock, in the same transaction)."""
    now = now or clock_now()
    told = 0
    with transaction.atomic():
        due = list(
            ConversationClock.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(alert_at__lte=now)
            .select_related("conversation__mailbox__workspace", "conversation__assignee")
            .order_by("alert_at")[:limit]
        )
        for clock in due:
            conversation = clock.conversation
            clocks = Clocks(conversation.mailbox)
            target = clocks.target(clock)
            if target is not None:
                which, due_at, _goal = target
                if now >= due_at and not getattr(clock, f"{which}_late_sent"):
                    setattr(clock, f"{which}_late_sent", True)
                    setattr(clock, f"{which}_at_risk_sent", True)
                    told += _tell(
                        conversation, clocks.goal.late_recipient_id, NotificationKind.LATE
                    )
                elif not getattr(clock, f"{which}_at_risk_sent"):
                    setattr(clock, f"{which}_at_risk_sent", True)
                    told += _tell(conversation, conversation.assignee_id, NotificationKind.AT_RISK)
            clocks.schedule(clock, now)
            clock.save()
    return told


def _tell(conversation: Conversation, user_id: int | None, kind: str) -> int:
    if user_id is None:
        return 0
    member = (
        Membership.objects.filter(workspace_id=conversation.workspace_id, user_id=user_id)
        .select_related("user")
        .first()
    )
    if member is None:  # left the workspace since: nobody outside hears of it
        return 0
    recipient: User = member.user
    return len(notify(conversation=conversation, recipients=[recipient], kind=kind))
