"""Export a workspace, decrypted: `manage.py workspace_export SLUG --output FILE.zip`."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from inbox.export import workspace_export


class Command(BaseCommand):
    help = (
        "Write a workspace's messages (one .eml each, byte for byte as received), "
        "conversations, notes and tags to a ZIP file, decrypted. Treat the file as sensitive."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The workspace's slug.")
        parser.add_argument("--output", required=True, help="The ZIP file to write.")

    def handle(self, *args, slug: str, output: str, **options):
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace has the slug {slug!r}.")
        result = workspace_export(workspace=workspace, output=output)
        self.stdout.write(
            f"Exported {result.messages} messages, {result.conversations} conversations and "
            f"{result.notes} notes of {workspace.name}."
        )
        self.stdout.write(str(result.path))
