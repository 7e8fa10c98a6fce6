"""manage.py reports_backfill [SLUG]: the reports' figures built from existing metadata."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from reports.backfill import workspace_backfill


class Command(BaseCommand):
    help = "Build the reports' figures from the conversations already stored (never decrypts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", nargs="?", help="one workspace (all of them without it)")

    def handle(self, *args, slug: str | None = None, **options) -> None:
        workspaces = Workspace.objects.order_by("pk")
        if slug:
            workspaces = workspaces.filter(slug=slug)
            if not workspaces.exists():
                raise CommandError(f"No workspace has the slug {slug!r}.")
        for workspace in workspaces:
            count = workspace_backfill(workspace_id=workspace.pk)
            self.stdout.write(f"{workspace.slug}: {count} conversations counted")
