"""The requester portal: its settings per workspace, sign-in links, sessions, profiles,
delegations and erasure requests.

Addresses and names are sealed with the workspace key and found by blind tokens
(`portal.addresses`); link and session secrets are stored as SHA-256 digests only.
"""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from inbox.models import Mailbox

COLOR = RegexValidator(r"^#[0-9a-fA-F]{6}\Z", _("Enter a colour as #RRGGBB."))
DEFAULT_ACCENT = "#2f5bd3"
MAX_REMEMBER_DAYS = 365


class PortalSettings(models.Model):
    """One per workspace: which mailboxes show, where new requests land, how it looks."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="portal", verbose_name=_("workspace")
    )
    mailboxes = models.ManyToManyField(
        Mailbox, blank=True, related_name="+", verbose_name=_("mailboxes shown in the portal")
    )
    intake_mailbox = models.ForeignKey(
        Mailbox,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("mailbox that receives new requests"),
    )
    remember_days = models.PositiveSmallIntegerField(
        _("days a device stays signed in with “Remember me”"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REMEMBER_DAYS)],
    )
    accent_color = models.CharField(
        _("accent colour"), max_length=7, default=DEFAULT_ACCENT, validators=[COLOR]
    )
    # A small PNG or JPEG, checked by its bytes (never SVG: it can carry script).
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_type = models.CharField(max_length=20, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")

    @property
    def is_enabled(self) -> bool:
        return self.mailboxes.exists()

    @property
    def safe_accent(self) -> str:
        """The colour as the page's style uses it: a value that is not #RRGGBB never reaches it."""
        try:
            COLOR(self.accent_color)
        except Exception:
            return DEFAULT_ACCENT
        return self.accent_color


class SignInLink(models.Model):
    """A single-use sign-in link, mailed by a task; valid 15 minutes."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # Random id the sealed address is bound to (the link's secret is made later, by the task).
    public_id = models.CharField(max_length=32, unique=True)
    address_sealed = models.BinaryField()
    address_token = models.BigIntegerField()
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)


class PortalSession(models.Model):
    """A requester signed in on one device; the cookie holds a secret whose digest is here."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    address_sealed = models.BinaryField()
    address_token = models.BigIntegerField()
    remember = models.BooleanField(default=False)
    # The browser's name, as its User-Agent says (cut short), to recognise the device.
    device = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "address_token", "-created_at"])]


class PortalProfile(models.Model):
    """What a requester says of themselves: their name, sealed."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    address_token = models.BigIntegerField()
    name_sealed = models.BinaryField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "address_token"], name="portal_profile_unique"
            )
        ]


class Delegation(models.Model):
    """One address may see the conversations of another address, or of a whole domain."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=32, unique=True)  # what its sealed content is bound to
    delegate_token = models.BigIntegerField()
    # {"delegate": "...", "target": "x@y.fr" or "@y.fr"}, sealed.
    content_sealed = models.BinaryField()
    can_reply = models.BooleanField(_("may reply"), default=False)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "delegate_token"])]


class ErasureRequest(models.Model):
    """A requester's "Demander l'effacement": the GDPR request the workspace's admins handle,
    and whether the requester was told it is done."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    gdpr_request = models.OneToOneField(
        "privacy.GdprRequest", on_delete=models.CASCADE, related_name="+"
    )
    admins_reminded_at = models.DateTimeField(null=True, blank=True)
    requester_told_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
