"""Held sends: the undo window, sending later, and "remind me if no answer".

A held send is a queued outgoing whose `lease_until` (the time before which no worker may claim
it) is in the future and that no worker has tried yet (`attempts == 0`): the few seconds of the
workspace's undo window, or the time a person chose ("demain 8 h"). The workers send it then
(a task queued with that eta, and the beat sweep `outgoing_recover_stuck` if that task is
lost), whether or not anyone is online. Until a worker claims it, "Annuler" moves it back to a
draft with one conditional UPDATE: the claim is one too, so exactly one of them wins and a
message is never both brought back and sent.

"Remind me if no answer by …" reuses the snooze: the conversation waits out of the inbox until
then; an answer from the other side wakes it at once (as for any snooze), and otherwise it
comes back at that time and the assignee (or the person who asked) is notified.

A forward's internal note (inbox.actions.forwarding) is added when the forward is queued; "Annuler"
removes it, as the draft that holds its text comes back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from inbox.actions.snooze import MAX_SNOOZE, conversation_snooze, local_morning, preset_time
from inbox.actions.triage import conversation_set_status
from inbox.mail.sending import OutgoingStateError
from inbox.models import Conversation, Note, Outgoing, SendState, Status
from trupeo.params import parse_moment
from trupeo.storage import object_store

MAX_LATER = timedelta(days=366)
SEND_MORNING = 8  # "demain 8 h": people schedule for the start of the working day

SEND_PRESETS = {
    "hour": gettext_lazy("In an hour"),
    "tomorrow": gettext_lazy("Tomorrow at 8:00"),
    "monday": gettext_lazy("Monday at 8:00"),
}
FOLLOW_UP_PRESETS = {
    "tomorrow": gettext_lazy("Tomorrow morning"),
    "3days": gettext_lazy("In 3 days"),
    "week": gettext_lazy("In a week"),
}


def undo_delay(outgoing: Outgoing) -> timedelta:
    return timedelta(seconds=outgoing.workspace.undo_send_seconds)


def is_held(outgoing: Outgoing, now: datetime | None = None) -> bool:
    """Queued, never tried, and not due yet: the author can still take it back."""
    now = now or timezone.now()
    return (
        outgoing.state == SendState.QUEUED
        and outgoing.attempts == 0
        and outgoing.lease_until is not None
        and outgoing.lease_until > now
    )


def send_preset_time(name: str, now: datetime | None = None) -> datetime:
    now = timezone.localtime(now or timezone.now())
    if name == "hour":
        return now + timedelta(hours=1)
    if name == "tomorrow":
        return local_morning(now, days=1, hour=SEND_MORNING)
    if name == "monday":
        return local_morning(now, days=7 - now.weekday(), hour=SEND_MORNING)
    raise ValidationError(_("Unknown choice for sending later."))


def send_time(
    *, preset: str = "", typed: str = "", asked: bool = False, now: datetime | None = None
) -> datetime | None:
    """When a message is to leave: a preset, or a date and time typed in the person's time
    zone ("2026-12-07T08:00"); None for now. Raises ValidationError in words."""
    now = now or timezone.now()
    if preset:
        return send_preset_time(preset, now)
    # `asked`: "Schedule" was pressed; an empty date then must not mean "now".
    typed = (typed or "").strip()
    if not typed and not asked:
        return None
    when = parse_moment(typed)  # read in the current (the person's) time zone
    if when is None:
        raise ValidationError(_("Choose a date and a time for sending later."))
    if when <= now:
        raise ValidationError(_("Choose a time in the future for sending later."))
    if when > now + MAX_LATER:
        raise ValidationError(_("A message can be scheduled a year ahead at most."))
    return when


def follow_up_time(name: str, now: datetime | None = None) -> datetime | None:
    if not name:
        return None
    if name == "3days":
        return local_morning(now or timezone.now(), days=3)
    if name in ("tomorrow", "week"):
        return preset_time(name, now)
    raise ValidationError(_("Unknown choice for the reminder."))


def follow_up_check(
    *, conversation: Conversation | None, until: datetime, leaves_at: datetime
) -> None:
    """Checked before the message is queued, so that a refused reminder sends nothing."""
    if conversation is None:
        raise ValidationError(_("A reminder needs a conversation: reply rather than write anew."))
    if until <= leaves_at:
        raise ValidationError(_("The reminder must come after the message leaves."))
    if until > timezone.now() + MAX_SNOOZE:
        raise ValidationError(_("A reminder can be set a year ahead at most."))
    if conversation.status == Status.SPAM:
        raise ValidationError(_("Reopen the conversation before snoozing it."))


def follow_up_set(*, outgoing: Outgoing, until: datetime, actor: User) -> None:
    """The conversation waits for an answer until `until` (see the module's docstring)."""
    conversation = outgoing.conversation
    with transaction.atomic():
        if conversation.status == Status.CLOSED:
            # Waiting on the other side: pending, so that it comes back rather than stays closed.
            conversation_set_status(conversation=conversation, status=Status.PENDING, actor=actor)
        conversation_snooze(conversation=conversation, until=until, actor=actor)
        Outgoing.objects.filter(pk=outgoing.pk).update(follow_up_until=until)
    outgoing.follow_up_until = until


def outgoing_unqueue(*, outgoing: Outgoing) -> Outgoing:
    """ "Annuler": back to a draft, intact, if no worker has claimed it; else OutgoingStateError.

    The conditional UPDATE races the worker's claim (also one UPDATE on state = queued): one
    wins. The composed MIME is dropped (queuing again composes it afresh); the draft's content
    and files were kept while it was held."""
    with transaction.atomic():
        before = Outgoing.objects.filter(pk=outgoing.pk).values(
            "raw_object", "follow_up_until", "note_id"
        )
        before = before.first() or {"raw_object": "", "follow_up_until": None, "note_id": None}
        taken_back = Outgoing.objects.filter(
            pk=outgoing.pk, state=SendState.QUEUED, attempts=0
        ).update(
            state=SendState.DRAFT,
            lease_until=None,
            raw_object="",
            message_id_token=None,
            follow_up_until=None,
            note=None,
            updated_at=timezone.now(),
        )
        if not taken_back:
            raise OutgoingStateError(_("Too late to undo: the message is already being sent."))
        raw_key, until = before["raw_object"], before["follow_up_until"]
        if until is not None and outgoing.conversation_id:
            # The reminder asked with this message goes with it (unless changed since).
            Conversation.objects.filter(pk=outgoing.conversation_id, snoozed_until=until).update(
                snoozed_until=None
            )
        if before["note_id"]:
            # A forward's note goes back into the draft (it is still in its content).
            Note.objects.filter(pk=before["note_id"]).delete()
        if raw_key:
            transaction.on_commit(lambda: object_store().delete(raw_key))
    outgoing.refresh_from_db()
    return outgoing
