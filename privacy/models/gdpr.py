"""What GDPR operations remember: requests and their history, exports, security logs, the
breach register and the acceptance of the data-processing terms.

None of these rows holds mail content. Exports hold only an object key: the archive itself is
sealed in object storage under the workspace's key.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from privacy.gdpr.deadlines import due_date


class Right(models.TextChoices):
    """The eight rights of the policy (section 9)."""

    ACCESS = "access", _("Access")
    RECTIFICATION = "rectification", _("Rectification")
    ERASURE = "erasure", _("Erasure")
    PORTABILITY = "portability", _("Portability")
    RESTRICTION = "restriction", _("Restriction of processing")
    OBJECTION = "objection", _("Objection")
    WITHDRAWAL = "withdrawal", _("Withdrawal of consent")
    POST_MORTEM = "post_mortem", _("Post-mortem directives")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    ANSWERED = "answered", _("Answered")
    REFUSED = "refused", _("Refused")


class IdentityCheck(models.TextChoices):
    PENDING = "pending", _("Not checked yet")
    VERIFIED = "verified", _("Verified")
    FAILED = "failed", _("Could not be verified")


OPEN_STATUSES = (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS)


class GdprRequest(models.Model):
    """A request from a person exercising a right; answered within one month (art. 12.3).

    The requester's name and address are sealed under the site key (see
    `privacy.site.site_keys`, bound to `public_id`); a blind token finds the requests of one
    address. Read them with `privacy.gdpr.requesters.requester(request)`.
    """

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("Public id")
    )
    right = models.CharField(_("right"), max_length=20, choices=Right.choices)
    requester_name_sealed = models.BinaryField(
        editable=False, verbose_name=_("Requester's name (encrypted)")
    )
    requester_email_sealed = models.BinaryField(
        editable=False, verbose_name=_("Requester's email (encrypted)")
    )
    requester_email_token = models.BigIntegerField(
        db_index=True, editable=False, verbose_name=_("Requester's email (search token)")
    )
    contact = models.ForeignKey(
        "privacy.ContactMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text=_("The contact form message the request came with."),
        verbose_name=_("Contact message"),
    )
    workspace = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("workspace"),
        help_text=_("The client whose mail is concerned, when the request is about it."),
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("due"), editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.RECEIVED
    )
    identity = models.CharField(
        _("identity check"),
        max_length=10,
        choices=IdentityCheck.choices,
        default=IdentityCheck.PENDING,
    )
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("Identity checked by"),
    )
    identity_checked_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Identity checked at")
    )
    extension_months = models.PositiveSmallIntegerField(
        default=0, editable=False, verbose_name=_("Extension (months)")
    )
    extension_reason = models.TextField(
        blank=True, editable=False, verbose_name=_("Reason for the extension")
    )
    extension_told_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Requester told of the extension at")
    )
    answer = models.TextField(_("answer"), blank=True, editable=False)
    answered_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Answered at")
    )
    # When staff were first emailed of it (None until a mail actually went out).
    staff_told_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Staff told at")
    )
    reminded_d7_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Reminded 7 days before")
    )
    reminded_d2_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Reminded 2 days before")
    )

    class Meta:
        verbose_name = _("GDPR request")
        verbose_name_plural = _("GDPR requests")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.get_right_display()} #{self.pk}"

    def save(self, *args, **kwargs):
        self.due_at = due_date(self.received_at, extension_months=self.extension_months)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and timezone.now() > self.due_at

    @property
    def days_left(self) -> int:
        return (self.due_at - timezone.now()).days


class EventKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    IDENTITY = "identity", _("Identity check")
    STATUS = "status", _("Status changed")
    EXTENDED = "extended", _("Deadline extended")
    EXPORTED = "exported", _("Data exported")
    ERASED = "erased", _("Person erased")
    ANSWERED = "answered", _("Answer recorded")
    REMINDER = "reminder", _("Reminder sent")
    STAFF_TOLD = "staff_told", _("Staff emailed")
    NOTE = "note", _("Note")


class AppendOnly(Exception):
    """A history row was about to be changed or deleted."""


class RequestEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("the history of a GDPR request is append-only")

    def delete(self):
        raise AppendOnly("the history of a GDPR request is append-only")


class RequestEvent(models.Model):
    """One line of a request's history. Rows are only ever added (save refuses updates)."""

    request = models.ForeignKey(
        GdprRequest, on_delete=models.PROTECT, related_name="events", verbose_name=_("Request")
    )
    at = models.DateTimeField(default=timezone.now, editable=False, verbose_name=_("When"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("By"),
    )
    kind = models.CharField(max_length=10, choices=EventKind.choices, verbose_name=_("Kind"))
    detail = models.TextField(blank=True, verbose_name=_("Detail"))

    objects = RequestEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request history")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None or kwargs.get("force_update"):
            raise AppendOnly("the history of a GDPR request is append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("the history of a GDPR request is append-only")


class ExportKind(models.TextChoices):
    WORKSPACE = "workspace", _("Whole workspace")
    PERSON = "person", _("One person's messages")


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being built")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


class DataExport(models.Model):
    """A ZIP built in the background, sealed in object storage until it expires."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", verbose_name=_("Workspace")
    )
    kind = models.CharField(max_length=10, choices=ExportKind.choices, verbose_name=_("Kind"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Requested by"),
    )
    gdpr_request = models.ForeignKey(
        GdprRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exports",
        verbose_name=_("GDPR request"),
    )
    state = models.CharField(
        max_length=10, choices=ExportState.choices, default="queued", verbose_name=_("State")
    )
    progress = models.PositiveSmallIntegerField(default=0, verbose_name=_("Progress"))  # percent
    object_key = models.CharField(max_length=120, blank=True, verbose_name=_("Storage key"))
    size = models.PositiveBigIntegerField(null=True, verbose_name=_("Size (bytes)"))
    error = models.TextField(blank=True, verbose_name=_("Error"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("Created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Finished at"))
    expires_at = models.DateTimeField(
        null=True, blank=True, db_index=True, verbose_name=_("Expires at")
    )

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    @property
    def is_downloadable(self) -> bool:
        return (
            self.state == ExportState.READY
            and self.expires_at is not None
            and timezone.now() < self.expires_at
        )


class SecurityEventKind(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOGOUT = "logout", _("Logged out")


class SecurityEvent(models.Model):
    """Sign-in log (IP address, browser), kept TRUPEO_SECURITY_LOG_DAYS then purged."""

    kind = models.CharField(
        max_length=12, choices=SecurityEventKind.choices, verbose_name=_("Kind")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("User"),
    )
    ip = models.GenericIPAddressField(null=True, verbose_name=_("IP address"))
    user_agent = models.CharField(max_length=300, blank=True, verbose_name=_("Browser"))
    at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("When"))

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")


class Breach(models.Model):
    """The register of personal data breaches (art. 33.5), whether notified or not."""

    detected_at = models.DateTimeField(_("detected at"))
    nature = models.TextField(_("nature of the breach"))
    data_concerned = models.TextField(_("data concerned"))
    people_concerned = models.TextField(
        _("people concerned"), help_text=_("Categories and approximate number.")
    )
    consequences = models.TextField(_("likely consequences"))
    measures = models.TextField(_("measures taken or proposed"))
    cnil_notified_at = models.DateTimeField(_("CNIL notified at"), null=True, blank=True)
    no_notification_reason = models.TextField(
        _("why the CNIL was not notified"),
        blank=True,
        help_text=_("Only when the breach is unlikely to result in a risk."),
    )
    people_informed_at = models.DateTimeField(_("people informed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("Created at"))
    # When staff were emailed as the 72-hour deadline approached (`privacy.gdpr.breaches`); an
    # alert not sent because a tighter one went out first is marked with it.
    alerted_48h_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Staff alerted (48h)")
    )
    alerted_24h_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Staff alerted (24h)")
    )
    alerted_6h_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Staff alerted (6h)")
    )
    alerted_late_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Staff alerted (late)")
    )

    class Meta:
        verbose_name = _("data breach")
        verbose_name_plural = _("data breach register")
        ordering = ["-detected_at"]

    def __str__(self) -> str:
        return f"{self.detected_at:%Y-%m-%d} {self.nature[:60]}"

    @property
    def notification_due_at(self):
        return self.detected_at + timedelta(hours=72)

    @property
    def notification_pending(self) -> bool:
        return self.cnil_notified_at is None and not self.no_notification_reason

    @property
    def notification_late(self) -> bool:
        if self.cnil_notified_at is not None:
            return self.cnil_notified_at > self.notification_due_at
        return self.notification_pending and timezone.now() > self.notification_due_at


class TermsAcceptedBy(models.TextChoices):
    OWNER = "owner", _("The owner, in the application")
    OPERATOR = "operator", _("Trupeo's operator, on behalf of the client")


class TermsAcceptance(models.Model):
    """A client accepted the data-processing terms (Trupeo as processor, policy section 10).

    It is the contract: the workspace and the person are kept as they were when it was
    accepted, and the row outlives both (the links become empty, the snapshot stays).
    """

    workspace = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Workspace"),
    )
    workspace_ref = models.PositiveBigIntegerField(_("Workspace number"), db_index=True)
    workspace_name = models.CharField(_("Workspace name"), max_length=120)
    workspace_slug = models.CharField(_("Workspace short name"), max_length=60)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("User"),
    )
    # Kept if the account goes: the acceptance must stay attributable.
    user_email = models.EmailField(_("Accepted for"))
    user_name = models.CharField(_("Name"), max_length=150, blank=True)
    version = models.CharField(_("Version"), max_length=40)
    accepted_at = models.DateTimeField(_("Accepted at"), default=timezone.now)
    accepted_by = models.CharField(
        _("Accepted by"),
        max_length=10,
        choices=TermsAcceptedBy.choices,
        default=TermsAcceptedBy.OWNER,
    )
    recorded_by = models.CharField(
        _("Recorded by"),
        max_length=200,
        blank=True,
        help_text=_("For a record made by Trupeo's operator: who made it, and how."),
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("processor terms acceptance")
        verbose_name_plural = _("processor terms acceptances")
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.workspace_name} · {self.version} · {self.user_email}"
