"""Reads for the pages: the "due soon" and "late" lists (keyset on due time) and the sentence
a conversation page says about its clock."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import BadRequest
from django.db.models import F, Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.models import Workspace
from inbox.models import Conversation
from sla.business_time import business_seconds_between
from sla.calendars import workspace_calendars, workspace_goals
from sla.clocks import FIRST_REPLY
from sla.models import ConversationClock
from trupeo.params import parse_id

PAGE_SIZE = 50
DUE_SOON = "due_soon"
LATE = "late"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def business_span(seconds: int) -> str:
    """ "2 h 10", "45 min", "3 h": business time as people say it."""
    minutes = max(int(seconds), 0) // 60
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return _("%(minutes)d min") % {"minutes": minutes}
    if not minutes:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": minutes}


def cursor_of(clock: ConversationClock) -> str:
    return f"{(clock.due_at - _EPOCH) // _MICROSECOND}_{clock.conversation_id}"


def cursor_parse(cursor: str) -> tuple[datetime, int] | None:
    """The row a "Show more" link continues after; a cursor we did not write is a 400."""
    if not cursor:
        return None
    micros, _sep, pk = cursor.partition("_")
    if not (micros.isascii() and micros.isdigit() and len(micros) <= 17) or parse_id(pk) is None:
        raise BadRequest("This page link is broken.")
    return _EPOCH + int(micros) * _MICROSECOND, int(pk)


def clocks_listed(
    workspace: Workspace,
    *,
    listed: str,
    now: datetime,
    mailbox_id: int | None = None,
    newest_first: bool = False,
    after: str = "",
) -> tuple[list[ConversationClock], str]:
    """One page of the conversations due soon (deadline ahead) or late (deadline passed), by
    due time, with their conversation; and the next page's cursor ("": none)."""
    clocks: QuerySet[ConversationClock] = ConversationClock.objects.filter(
        workspace=workspace, due_at__isnull=False
    ).select_related("conversation")
    clocks = clocks.filter(due_at__gt=now) if listed == DUE_SOON else clocks.filter(due_at__lte=now)
    if mailbox_id is not None:
        clocks = clocks.filter(conversation__mailbox_id=mailbox_id)
    cursor = cursor_parse(after)
    if newest_first:
        clocks = clocks.order_by("-due_at", "-conversation_id")
        if cursor:
            stamp, pk = cursor
            clocks = clocks.filter(due_at__lte=stamp).filter(
                Q(due_at__lt=stamp) | Q(due_at=stamp, conversation_id__lt=pk)
            )
    else:
        clocks = clocks.order_by("due_at", "conversation_id")
        if cursor:
            stamp, pk = cursor
            clocks = clocks.filter(due_at__gte=stamp).filter(
                Q(due_at__gt=stamp) | Q(due_at=stamp, conversation_id__gt=pk)
            )
    page = list(clocks[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return page, cursor_of(page[-1]) if more else ""


@dataclass(frozen=True)
class ClockView:
    """What a page says about a clock: which goal, when, how long left or late, or paused."""

    which: str  # "first_reply" or "resolution"; "" when nothing runs
    due_at: datetime | None
    when: str  # "mardi 10:30"
    span: str  # "2 h 10" of business time, left or late
    late: bool
    paused: str  # "", "pending", "snoozed", "closed", "spam"
    first_replied_at: datetime | None

    @property
    def sentence(self) -> str:
        values = {"when": self.when, "span": self.span}
        if self.which == FIRST_REPLY:
            if self.late:
                return _("First reply was due %(when)s: %(span)s late in business hours") % values
            return _("First reply due %(when)s, in %(span)s business hours") % values
        if self.late:
            return _("Resolution was due %(when)s: %(span)s late in business hours") % values
        return _("Resolution due %(when)s, in %(span)s business hours") % values


def _when(at: datetime, now: datetime, zone) -> str:
    local = at.astimezone(zone)
    near = abs((at - now).days) < 6
    # French day names are lowercase already: "mardi 10:30", inside a sentence.
    return formats.date_format(local, "l H:i" if near else "l j F H:i")


def clock_view(
    clock: ConversationClock, *, workspace: Workspace, mailbox_id: int, now: datetime
) -> ClockView:
    kept = workspace_calendars(workspace)
    calendar = kept.by_mailbox.get(mailbox_id, kept.default)
    which = ""
    if clock.due_at is not None:
        which = FIRST_REPLY if clock.due_at == clock.first_reply_due_at else "resolution"
        if clock.first_replied_at is not None:
            which = "resolution"
    due = clock.due_at
    late = due is not None and due <= now
    seconds = 0
    if due is not None:
        seconds = (
            business_seconds_between(calendar, due, now)
            if late
            else business_seconds_between(calendar, now, due)
        )
    return ClockView(
        which=which,
        due_at=due,
        when=_when(due, now, calendar.zone) if due else "",
        span=business_span(seconds),
        late=late,
        paused=clock.paused_reason if clock.paused_at else "",
        first_replied_at=clock.first_replied_at,
    )


def conversation_clock(
    conversation: Conversation, *, workspace: Workspace, now: datetime | None = None
) -> ClockView | None:
    """The clock of a conversation page (one query, none when its mailbox has no goal), or
    None if it has none."""
    if conversation.mailbox_id not in workspace_goals(workspace):
        return None
    clock = ConversationClock.objects.filter(conversation_id=conversation.pk).first()
    if clock is None:
        return None
    return clock_view(
        clock, workspace=workspace, mailbox_id=conversation.mailbox_id, now=now or timezone.now()
    )


def due_badges(workspace: Workspace, rows, *, now: datetime | None = None) -> dict[int, ClockView]:
    """The running clocks of a list page's rows, by conversation id: one query, and none at all
    in a workspace without goals."""
    if not workspace_goals(workspace) or not rows:
        return {}
    now = now or timezone.now()
    clocks = ConversationClock.objects.filter(
        conversation_id__in=[row.id for row in rows], due_at__isnull=False
    ).annotate(of_mailbox=F("conversation__mailbox_id"))
    return {
        clock.conversation_id: clock_view(
            clock, workspace=workspace, mailbox_id=clock.of_mailbox, now=now
        )
        for clock in clocks
    }
