"""Stripe invoices mirrored locally, kept 10 years with a snapshot of their workspace."""

from django.utils import timezone

from billing.models import INVOICE_RETENTION, Invoice, Subscription
from billing.stripe_api import from_timestamp


def _vat_number(stripe_invoice) -> str:
    for tax_id in stripe_invoice.get("customer_tax_ids") or []:
        if tax_id.get("value"):
            return tax_id["value"]
    return ""


def invoice_subscription_id(stripe_invoice) -> str:
    """The subscription an invoice bills (under `parent` since Stripe's 2025 API)."""
    parent = stripe_invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    subscription = details.get("subscription") or ""
    return subscription if isinstance(subscription, str) else subscription.get("id", "")


def invoice_mirror(*, stripe_invoice, subscription: Subscription) -> Invoice:
    """Create or update the local copy of an invoice from its current state at Stripe."""
    total = int(stripe_invoice.get("total") or 0)
    excl = stripe_invoice.get("total_excluding_tax")
    excl = total if excl is None else int(excl)
    issued = (
        from_timestamp(stripe_invoice.get("effective_at") or stripe_invoice.get("created"))
        or timezone.now()
    )
    transitions = stripe_invoice.get("status_transitions") or {}
    customer = stripe_invoice.get("customer") or ""
    customer = customer if isinstance(customer, str) else customer.get("id", "")
    workspace = subscription.workspace
    values = {
        "workspace": workspace,
        "stripe_customer_id": customer,
        "number": stripe_invoice.get("number") or "",
        "status": stripe_invoice.get("status") or "",
        "currency": (stripe_invoice.get("currency") or "").upper(),
        "amount_excl_tax": excl,
        "tax": total - excl,
        "total": total,
        "amount_paid": int(stripe_invoice.get("amount_paid") or 0),
        "customer_name": stripe_invoice.get("customer_name") or "",
        "customer_vat_number": _vat_number(stripe_invoice),
        "issued_at": issued,
        "paid_at": from_timestamp(transitions.get("paid_at")),
        "period_start": from_timestamp(stripe_invoice.get("period_start")),
        "period_end": from_timestamp(stripe_invoice.get("period_end")),
        "hosted_invoice_url": stripe_invoice.get("hosted_invoice_url") or "",
        "pdf_url": stripe_invoice.get("invoice_pdf") or "",
        "keep_until": issued + INVOICE_RETENTION,
    }
    # The snapshot that survives the workspace's deletion.
    values["workspace_name"] = subscription.workspace_name
    values["workspace_slug"] = subscription.workspace_slug
    invoice, created = Invoice.objects.get_or_create(
        stripe_invoice_id=stripe_invoice["id"], defaults=values
    )
    if not created:
        for name, value in values.items():
            setattr(invoice, name, value)
        invoice.save()
    return invoice
