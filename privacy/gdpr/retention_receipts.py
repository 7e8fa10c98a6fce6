"""Deletion receipts: the list an owner sees and the CSV an owner or the DPO downloads.

A receipt holds dates, the policy applied and counts: never content, never an address.
"""

import csv
import io

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from privacy.gdpr.retention_policies import BY_KEY
from privacy.models import DeletionReceipt

RECEIPTS_SHOWN = 20
_DETAIL_LABELS = {
    "messages": gettext_lazy("Messages (in the closed conversations)"),
    "attachments": gettext_lazy("Attachments (in the closed conversations)"),
    "stored_objects": gettext_lazy("Stored files (raw mail, attachments)"),
}


def receipts_recent(*, workspace_id: int) -> list[DeletionReceipt]:
    return list(
        DeletionReceipt.objects.filter(workspace_id=workspace_id).order_by("-started_at", "-id")[
            :RECEIPTS_SHOWN
        ]
    )


def receipt_filename(receipt: DeletionReceipt) -> str:
    return f"trupeo-recu-suppression-{receipt.started_at:%Y-%m-%d}-{receipt.pk}.csv"


def _label(key: str) -> str:
    if key in BY_KEY:
        return str(BY_KEY[key].label)
    return str(_DETAIL_LABELS.get(key, key))


def receipt_csv(receipt: DeletionReceipt) -> str:
    """One row per category: what the policy said and how many rows went."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Deletion receipt"), receipt.pk])
    writer.writerow([_("Workspace number"), receipt.workspace_id])
    writer.writerow([_("Started at"), receipt.started_at.isoformat()])
    finished = receipt.finished_at.isoformat() if receipt.finished_at else ""
    writer.writerow([_("Finished at"), finished])
    writer.writerow([_("Complete"), _("yes") if receipt.complete else _("no, continued next run")])
    writer.writerow([_("Policy confirmed at"), _policy_when(receipt)])
    writer.writerow([])
    writer.writerow([_("Category"), _("Kept for (days)"), _("Deleted")])
    for key, count in receipt.counts.items():
        days = receipt.policy_days.get(key, "") if key in BY_KEY else ""
        kept = _("never deleted") if key in BY_KEY and days is None else days
        writer.writerow([_label(key), kept, count])
    writer.writerow([_("Invoices"), _("10 years (legal obligation)"), 0])
    return out.getvalue()


def _policy_when(receipt: DeletionReceipt) -> str:
    return receipt.policy.confirmed_at.isoformat() if receipt.policy else ""
