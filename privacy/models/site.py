"""What the public site remembers: policy versions, contact messages, the waitlist.

Visitors have no workspace, so what they send is sealed under the *site key*: one random key,
wrapped by the newest master key like a workspace key (see `privacy.site.site_keys`). Sealed values
are bound to their row by a random `public_id`, known before the row is inserted.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SiteKey(models.Model):
    """The one key sealing public visitors' messages; only `privacy.site.site_keys` reads it."""

    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("site key")


class PolicyVersion(models.Model):
    """A published version of the privacy policy; its text is privacy/policies/<version>.<lang>.md.

    The page shows the latest version whose effective date has come. A substantial change is
    announced to every user at least 30 days before it takes effect (policy, section 12).
    """

    version = models.DateField(_("version date"), unique=True)
    effective_date = models.DateField(_("effective date"))
    substantial = models.BooleanField(
        _("substantial change"),
        default=False,
        help_text=_("Every user is told by email, at least 30 days before it takes effect."),
    )
    summary = models.TextField(
        _("summary of the changes"), blank=True, help_text=_("Sent in the notice email.")
    )
    published_at = models.DateTimeField(_("published"), default=timezone.now, editable=False)
    # Keyset progress of the notice emails: a retried task resumes after the last user told.
    notified_through_user_id = models.BigIntegerField(
        default=0, editable=False, verbose_name=_("Notified up to user id")
    )
    notices_sent = models.PositiveIntegerField(_("notices sent"), default=0, editable=False)
    notices_done_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("Notices finished at")
    )

    class Meta:
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")
        ordering = ["-effective_date", "-version"]

    def __str__(self) -> str:
        return self.version.isoformat()


class ContactSubject(models.TextChoices):
    QUESTION = "question", _("A question about Trupeo")
    DEMO = "demo", _("A demonstration or a quote")
    SUPPORT = "support", _("Help with my account")
    GDPR = "gdpr", _("GDPR request")
    OTHER = "other", _("Something else")


class ContactMessage(models.Model):
    """A message sent through the contact form. Name, address and text are sealed."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("Public id")
    )
    subject = models.CharField(_("subject"), max_length=10, choices=ContactSubject.choices)
    # One of privacy.models.Right when the subject is a GDPR request.
    gdpr_right = models.CharField(_("right"), max_length=20, blank=True)
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, verbose_name=_("Language")
    )
    name_sealed = models.BinaryField(verbose_name=_("Name (encrypted)"))
    email_sealed = models.BinaryField(verbose_name=_("Email (encrypted)"))
    message_sealed = models.BinaryField(verbose_name=_("Message (encrypted)"))
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    handled = models.BooleanField(_("handled"), default=False)

    class Meta:
        verbose_name = _("contact message")
        verbose_name_plural = _("contact messages")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_subject_display()} — {self.received_at:%Y-%m-%d %H:%M}"


class Audience(models.TextChoices):
    SCHOOL = "school", _("A school")
    AGENCY = "agency", _("An agency")
    SME = "sme", _("A small or medium business")
    OTHER = "other", _("Other")


class WaitlistEntry(models.Model):
    """A visitor asked to be told when Trupeo opens. The address is sealed; a blind token
    (keyed under the site key) recognises a second signup without reading any address."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("Public id")
    )
    email_sealed = models.BinaryField(verbose_name=_("Email (encrypted)"))
    email_token = models.BigIntegerField(unique=True, verbose_name=_("Email (search token)"))
    audience = models.CharField(_("organisation"), max_length=10, choices=Audience.choices)
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, verbose_name=_("Language")
    )
    joined_at = models.DateTimeField(_("joined"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["-joined_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_audience_display()} — {self.joined_at:%Y-%m-%d}"
