"""manage.py contacts_backfill [SLUG ...] [--queue]: contacts for mail stored before them."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from contacts.backfill import contacts_backfill
from contacts.tasks import backfill_contacts
from trupeo.queueing import enqueue


class Command(BaseCommand):
    help = (
        "Make the contacts of the mail already stored (every workspace, or those named), "
        "here or in the worker (--queue). Running it again adds nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("slugs", nargs="*", help="workspace slugs (default: every one)")
        parser.add_argument("--queue", action="store_true", help="let the worker do it")

    def handle(self, *args, slugs: list[str], queue: bool, **options) -> None:
        workspaces = Workspace.objects.order_by("id")
        if slugs:
            workspaces = workspaces.filter(slug__in=slugs)
            missing = set(slugs) - set(workspaces.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"no workspace {', '.join(sorted(missing))}")
        for workspace in workspaces:
            if queue:
                enqueue(backfill_contacts, workspace.pk)
                self.stdout.write(f"{workspace.slug}: queued")
                continue

            def progress(done: int, created: int, slug: str = workspace.slug) -> None:
                self.stdout.write(f"{slug}: {done} messages read, {created} contacts made")

            created = contacts_backfill(workspace=workspace, progress=progress)
            self.stdout.write(self.style.SUCCESS(f"{workspace.slug}: {created} contacts made"))
