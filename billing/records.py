"""Public: a workspace's billing records, for the privacy app's export."""

from accounts.models import Workspace
from billing.models import Invoice, Subscription


def workspace_billing_records(workspace: Workspace) -> list[dict]:
    """The subscription and every invoice of the workspace, as plain JSON-ready dicts."""
    records: list[dict] = []
    subscription = Subscription.objects.filter(workspace=workspace).first()
    if subscription is not None:
        records.append(
            {
                "kind": "subscription",
                "status": subscription.status,
                "plan": subscription.plan,
                "seats": subscription.seats,
                "trial_ends_at": subscription.trial_ends_at.isoformat(),
                "current_period_end": subscription.current_period_end.isoformat()
                if subscription.current_period_end
                else None,
                "cancel_at_period_end": subscription.cancel_at_period_end,
                "stripe_customer_id": subscription.stripe_customer_id,
                "stripe_subscription_id": subscription.stripe_subscription_id,
            }
        )
    for invoice in Invoice.objects.filter(workspace=workspace).order_by("issued_at", "pk"):
        records.append(
            {
                "kind": "invoice",
                "number": invoice.number,
                "date": invoice.issued_at.isoformat(),
                "status": invoice.status,
                "currency": invoice.currency,
                "amount_excl_tax": invoice.amount_excl_tax,
                "tax": invoice.tax,
                "total": invoice.total,
                "amount_paid": invoice.amount_paid,
                "customer_name": invoice.customer_name,
                "customer_vat_number": invoice.customer_vat_number,
                "hosted_invoice_url": invoice.hosted_invoice_url,
                "pdf_url": invoice.pdf_url,
                "kept_until": invoice.keep_until.isoformat(),
            }
        )
    return records
