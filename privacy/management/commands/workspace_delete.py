"""Delete a workspace for an operator: `manage.py workspace_delete SLUG --yes`."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from privacy.gdpr.deletion import workspace_delete


class Command(BaseCommand):
    help = (
        "Delete a workspace for good, as its owner can from the app: key destroyed first, "
        "then every row, stored object and index entry. Invoices are kept. The owner gets "
        "a receipt by email. Recorded in the deletion ledger."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The workspace's slug.")
        parser.add_argument(
            "--yes", action="store_true", help="Confirm: without it, nothing is deleted."
        )

    def handle(self, *args, slug: str, yes: bool, **options):
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace has the slug {slug!r}.")
        if not yes:
            raise CommandError(
                f"This deletes {workspace.name!r} and all its mail for good. "
                "Run again with --yes to confirm."
            )
        receipt = workspace_delete(workspace=workspace, actor=None)
        self.stdout.write(
            f"Deleted workspace {receipt.workspace_id} ({receipt.name}): "
            f"{receipt.objects} stored objects removed."
        )
