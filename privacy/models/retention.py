"""Retention per data category: the policies an owner confirmed, and the receipts of the
daily runs that applied them.

Neither holds any content: a policy is a few numbers of days, a receipt is dates and counts.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace


class RetentionPolicy(models.Model):
    """One confirmed policy; the workspace's newest is in force from the next daily run.

    Kept, not overwritten: each receipt names the policy it applied. A number of days per
    category; None means "never deleted".
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", verbose_name=_("Workspace")
    )
    closed_conversations_days = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("Closed conversations (days)")
    )
    auth_logs_days = models.PositiveIntegerField(
        verbose_name=_("Portal sessions and authentication logs (days)")
    )
    security_logs_days = models.PositiveIntegerField(verbose_name=_("Security logs (days)"))
    contacts_days = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("Requesters who were never clients (days)")
    )
    exports_days = models.PositiveIntegerField(verbose_name=_("Exports (days)"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("Confirmed by"),
    )
    confirmed_at = models.DateTimeField(default=timezone.now, verbose_name=_("Confirmed at"))

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        indexes = [models.Index(fields=["workspace", "-confirmed_at", "-id"])]


class DeletionReceipt(models.Model):
    """What one run deleted in one workspace: the policy applied and counts per category.

    Never content, never an address: an owner or the DPO can hand it to anyone.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", verbose_name=_("Workspace")
    )
    policy = models.ForeignKey(
        RetentionPolicy,
        null=True,
        on_delete=models.SET_NULL,
        related_name="receipts",
        verbose_name=_("Policy"),
    )
    # The policy's numbers as applied, so the receipt stands on its own.
    policy_days = models.JSONField(default=dict, verbose_name=_("Policy applied (days)"))
    counts = models.JSONField(default=dict, verbose_name=_("Deleted, per category"))
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("Started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("Finished at"))
    # False when the run stopped at its limit: the next run goes on from there.
    complete = models.BooleanField(default=False, verbose_name=_("Complete"))

    class Meta:
        verbose_name = _("deletion receipt")
        verbose_name_plural = _("deletion receipts")
        indexes = [models.Index(fields=["workspace", "-started_at", "-id"])]

    @property
    def total(self) -> int:
        return sum(self.counts.values())
