"""`manage.py sync_mailboxes --once [--mailbox ID]`: one full sync pass, in this process."""

from django.core.management.base import BaseCommand, CommandError

from inbox.mail.sync import BATCH_SIZE, mailbox_sync
from inbox.models import Mailbox, SyncState


class Command(BaseCommand):
    # An operational command, run often: the system checks (which import every view) are
    # for `check`, `migrate` and the web server, and cost more than a small sync.
    requires_system_checks: list[str] = []
    help = "Run one full sync pass of every active mailbox (or one) in-process, with a summary."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", required=True, help="One pass, then exit."
        )
        parser.add_argument("--mailbox", type=int, help="Only this mailbox id.")
        parser.add_argument(
            "--batch-size", type=int, default=BATCH_SIZE, help="Messages per batch."
        )

    def handle(self, *args, once: bool, mailbox: int | None, batch_size: int, **options):
        # Every provider (IMAP, Gmail, Microsoft 365): inbox.mail.sync dispatches by provider.
        mailboxes = Mailbox.objects.exclude(sync_state=SyncState.PAUSED)
        if mailbox is not None:
            mailboxes = Mailbox.objects.filter(pk=mailbox)
            if not mailboxes.exists():
                raise CommandError(f"No mailbox with id {mailbox}.")
        failed = 0
        total = 0
        for mailbox_id in mailboxes.order_by("pk").values_list("pk", flat=True):
            summary = mailbox_sync(mailbox_id=mailbox_id, batch_size=batch_size)
            total += summary.new
            failed += not summary.ok
            self.stdout.write(summary.line())
        self.stdout.write(f"{total} new message(s); {failed} mailbox(es) failed.")
