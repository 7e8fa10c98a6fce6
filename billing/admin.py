"""Staff's view of billing: read-only, since Stripe is the source of truth.

Invoices of deleted workspaces stay here (their workspace snapshot says whose they were).
"""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice, StripeEvent, Subscription


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "workspace_name",
        "status",
        "plan",
        "seats",
        "trial_ends_at",
        "current_period_end",
        "past_due_since",
        "stripe_customer_id",
    )
    list_filter = ("status", "plan", "cancel_at_period_end")
    search_fields = (
        "workspace_name",
        "workspace_slug",
        "stripe_customer_id",
        "stripe_subscription_id",
    )
    list_select_related = ("workspace",)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "stripe_created", "received_at", "processed_at", "outcome")
    list_filter = ("type",)
    search_fields = ("event_id", "object_id")
    date_hierarchy = "received_at"


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "issued_at",
        "workspace_name",
        "deleted_workspace",
        "status",
        "amount_excl_tax",
        "tax",
        "total",
        "currency",
        "keep_until",
    )
    list_filter = ("status", "currency", ("workspace", admin.EmptyFieldListFilter))
    search_fields = (
        "number",
        "workspace_name",
        "workspace_slug",
        "stripe_customer_id",
        "stripe_invoice_id",
    )
    date_hierarchy = "issued_at"

    @admin.display(boolean=True, description=_("workspace deleted"))
    def deleted_workspace(self, obj: Invoice) -> bool:
        return obj.workspace_id is None
