"""A workspace's subscription, the Stripe events received, and the invoices kept 10 years.

Billing records outlive their workspace: each row points to it with SET_NULL and keeps a
snapshot of its name, slug and Stripe customer, so deleting a workspace (and its content)
leaves the accounting intact and detached.
"""

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# French accounting law (Code de commerce L123-22) keeps invoices for 10 years.
INVOICE_RETENTION = timedelta(days=365 * 10 + 3)


class Status(models.TextChoices):
    # Our own trial, without a card; the Stripe statuses after checkout.
    TRIALING = "trialing", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Payment overdue")
    INCOMPLETE = "incomplete", _("Payment pending")
    INCOMPLETE_EXPIRED = "incomplete_expired", _("Payment abandoned")
    UNPAID = "unpaid", _("Unpaid")
    CANCELED = "canceled", _("Canceled")
    PAUSED = "paused", _("Paused")


class Plan(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


class Subscription(models.Model):
    """One per workspace, from its creation (the trial) to the end of its paid plan."""

    workspace = models.OneToOneField(
        "accounts.Workspace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscription",
        verbose_name=_("Workspace"),
    )
    workspace_name = models.CharField(_("workspace name"), max_length=120)
    workspace_slug = models.CharField(_("workspace slug"), max_length=60)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.TRIALING
    )
    trial_ends_at = models.DateTimeField(_("trial ends at"))
    stripe_customer_id = models.CharField(
        _("Stripe customer"), max_length=255, blank=True, db_index=True
    )
    stripe_subscription_id = models.CharField(
        _("Stripe subscription"), max_length=255, blank=True, db_index=True
    )
    stripe_item_id = models.CharField(max_length=255, blank=True, verbose_name=_("Stripe item id"))
    plan = models.CharField(_("plan"), max_length=10, choices=Plan.choices, blank=True)
    # The quantity on the Stripe subscription, and the most seats paid for in the current
    # period (a seat removed then added again within a period is not charged twice).
    seats = models.PositiveIntegerField(_("seats"), default=0)
    period_seats = models.PositiveIntegerField(default=0, verbose_name=_("Seats this period"))
    current_period_start = models.DateTimeField(
        null=True, blank=True, verbose_name=_("Current period start")
    )
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    past_due_since = models.DateTimeField(_("payment overdue since"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced from Stripe"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("Created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("Updated at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"{self.workspace_name} ({self.status})"

    @property
    def has_stripe_subscription(self) -> bool:
        return bool(self.stripe_subscription_id)

    @property
    def trial_days_left(self) -> int:
        left = self.trial_ends_at - timezone.now()
        return max(0, left.days + (1 if left.seconds else 0))


class StripeEvent(models.Model):
    """Each event Stripe sent, stored by its id: a replay finds it and changes nothing.

    Only what identifies the event is kept, not its payload (names and addresses): the state
    it announced is read again from Stripe when it is processed.
    """

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100)
    object_id = models.CharField(_("object"), max_length=255, blank=True)
    stripe_created = models.DateTimeField(_("created at Stripe"))
    livemode = models.BooleanField(default=False, verbose_name=_("Live mode"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        verbose_name=_("Subscription"),
    )
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        indexes = [models.Index(fields=["-received_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Invoice(models.Model):
    """A mirror of a Stripe invoice, kept 10 years, even after the workspace is deleted."""

    workspace = models.ForeignKey(
        "accounts.Workspace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invoices",
        verbose_name=_("Workspace"),
    )
    workspace_name = models.CharField(_("workspace name"), max_length=120)
    workspace_slug = models.CharField(_("workspace slug"), max_length=60)
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=255, db_index=True)
    stripe_invoice_id = models.CharField(_("Stripe invoice"), max_length=255, unique=True)
    number = models.CharField(_("number"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=20)
    currency = models.CharField(_("currency"), max_length=3)
    # Amounts in the currency's smallest unit (cents), as Stripe gives them.
    amount_excl_tax = models.BigIntegerField(_("amount excl. VAT"))
    tax = models.BigIntegerField(_("VAT"))
    total = models.BigIntegerField(_("total incl. VAT"))
    amount_paid = models.BigIntegerField(_("amount paid"), default=0)
    customer_name = models.CharField(_("customer name"), max_length=255, blank=True)
    customer_vat_number = models.CharField(_("VAT number"), max_length=64, blank=True)
    issued_at = models.DateTimeField(_("date"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    period_start = models.DateTimeField(null=True, blank=True, verbose_name=_("Period start"))
    period_end = models.DateTimeField(null=True, blank=True, verbose_name=_("Period end"))
    hosted_invoice_url = models.URLField(_("invoice page"), max_length=1000, blank=True)
    pdf_url = models.URLField(_("PDF"), max_length=1000, blank=True)
    keep_until = models.DateTimeField(_("kept until"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("Created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("Updated at"))

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-issued_at"])]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id
