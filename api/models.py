"""API tokens: a workspace's keys to the REST API (api/v1.py).

The secret is shown once and never stored: a token is "trp_<prefix>_<secret>", the prefix finds
the row (unique, indexed) and only the SHA-256 of the secret is kept, compared in constant time.
A secret of 256 random bits needs no slow hash: nobody can guess it from its digest.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace


class TokenRole(models.TextChoices):
    AGENT = "agent", _("Agent")
    ADMIN = "admin", _("Admin")


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiToken(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("Workspace")
    )
    # The person the API acts as (trail, notifications, drafts): the admin who created it. The
    # token stops working when they leave the workspace.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Created by"),
    )
    # Sealed with the workspace key under "api_token:<pk>", like every label.
    name_sealed = models.BinaryField(editable=False, verbose_name=_("Name (sealed)"))
    role = models.CharField(_("role"), max_length=10, choices=TokenRole.choices)
    scope = models.CharField(_("scope"), max_length=10, choices=TokenScope.choices)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    secret_sha256 = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("Created at"))
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"trp_{self.prefix}_…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and timezone.now() < self.expires_at

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE
