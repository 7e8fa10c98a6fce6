"""The business calendar: when a workspace (or one of its mailboxes) is open.

Opening hours per weekday (several intervals a day, for a lunch break), French public holidays
(Alsace-Moselle as an option), French school holidays of a zone (for schools, closed then) and
custom closures. Holds no content: times, dates, a zone letter.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from inbox.models import Mailbox

DEFAULT_TIMEZONE = "Europe/Paris"


class SchoolZone(models.TextChoices):
    NONE = "", _("Open during school holidays")
    A = "A", _("Closed during school holidays, zone A")
    B = "B", _("Closed during school holidays, zone B")
    C = "C", _("Closed during school holidays, zone C")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessCalendar(models.Model):
    """The workspace's calendar (no mailbox), or a mailbox's own, which overrides it."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="business_calendars"
    )
    mailbox = models.OneToOneField(
        Mailbox,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="business_calendar",
    )
    timezone = models.CharField(_("time zone"), max_length=64, default=DEFAULT_TIMEZONE)
    public_holidays = models.BooleanField(_("closed on French public holidays"), default=True)
    alsace_moselle = models.BooleanField(
        _("Alsace-Moselle holidays (Good Friday, 26 December)"), default=False
    )
    school_zone = models.CharField(
        _("school holidays"), max_length=1, choices=SchoolZone.choices, blank=True, default=""
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(mailbox__isnull=True),
                name="sla_one_workspace_calendar",
            ),
        ]


class OpeningInterval(models.Model):
    """Open on `weekday` from `start` to `end` (an `end` of 00:00 is midnight, the day's end)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="intervals"
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start = models.TimeField(_("opens at"))
    end = models.TimeField(_("closes at"))

    class Meta:
        ordering = ["weekday", "start"]


class Closure(models.Model):
    """Closed every day from `first_day` to `last_day`, both included."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="closures"
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))

    class Meta:
        ordering = ["first_day"]


class ReplyGoal(models.Model):
    """A mailbox's reply-time goals, in business minutes of its calendar (none: no goal)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="reply_goal")
    first_reply_minutes = models.PositiveIntegerField(
        _("first reply within (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (business minutes)"), null=True, blank=True
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        _("at risk once this share of the goal is used (%)"), default=80
    )
    late_recipient = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who hears of late conversations"),
    )


class ConversationClock(models.Model):
    """A conversation's reply-time clocks, in business time of its mailbox's calendar.

    `due_at` is the running deadline (the first reply's until it is sent, then the
    resolution's); None while the clock is paused (pending on the requester, snoozed), stopped
    (closed, spam) or without a goal. `alert_at` is when the beat must look at it next (at risk,
    then late). Holds no content: moments and counters.
    """

    conversation = models.OneToOneField(
        "inbox.Conversation", on_delete=models.CASCADE, primary_key=True, related_name="clock"
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    started_at = models.DateTimeField()
    first_reply_due_at = models.DateTimeField(null=True)
    first_replied_at = models.DateTimeField(null=True)
    resolution_due_at = models.DateTimeField(null=True)
    resolved_at = models.DateTimeField(null=True)
    paused_at = models.DateTimeField(null=True)
    paused_reason = models.CharField(max_length=10, blank=True)  # a Status, or "snoozed"
    # Business seconds left on each goal when paused (negative: already late by that much).
    first_reply_left = models.IntegerField(null=True)
    resolution_left = models.IntegerField(null=True)
    paused_seconds = models.PositiveIntegerField(default=0)  # business seconds, all pauses
    due_at = models.DateTimeField(null=True)
    alert_at = models.DateTimeField(null=True)
    first_reply_at_risk_sent = models.BooleanField(default=False)
    first_reply_late_sent = models.BooleanField(default=False)
    resolution_at_risk_sent = models.BooleanField(default=False)
    resolution_late_sent = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # "Due soon" and "Late", by due time (keyset on due_at, conversation).
            models.Index(
                fields=["workspace", "due_at", "conversation"],
                condition=models.Q(due_at__isnull=False),
                name="sla_clock_due",
            ),
            # The beat reads only the clocks whose alert time has come.
            models.Index(
                fields=["alert_at"],
                condition=models.Q(alert_at__isnull=False),
                name="sla_clock_alert",
            ),
        ]
