"""manage.py portal_enable SLUG [--mailbox ADDR]: show a workspace's mailboxes in its portal."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.models import Workspace
from inbox.models import Mailbox
from portal.actions import portal_enable


class Command(BaseCommand):
    help = "Enable the requester portal of a workspace (every mailbox, or the one named)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--mailbox", default="", help="only this address")

    def handle(self, *args, slug: str, mailbox: str, **options) -> None:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            raise CommandError(f"No workspace {slug!r}.")
        try:
            row = portal_enable(workspace=workspace, address=mailbox)
        except Mailbox.DoesNotExist:
            raise CommandError(
                f"No mailbox {mailbox!r} in {slug!r}." if mailbox else f"{slug!r} has no mailbox."
            ) from None
        shown = ", ".join(sorted(row.mailboxes.values_list("address", flat=True)))
        self.stdout.write(f"Mailboxes in the portal: {shown}")
        self.stdout.write(settings.SITE_URL + reverse("portal_home", args=[workspace.slug]))
