"""`manage.py imap_idle`: hold IMAP IDLE on this process's share of the active mailboxes and
queue a sync on new mail. Run as many as needed, on as many hosts: they share the mailboxes
through leases in the database."""

import signal

from django.core.management.base import BaseCommand

from inbox.mail.idle import IdleWatcher


class Command(BaseCommand):
    help = (
        "Watch active IMAP mailboxes with IDLE (shared with the other watchers); new mail is "
        "queued for a sync within a second or two."
    )

    def add_arguments(self, parser):
        parser.add_argument("--lease-seconds", type=int, default=None)

    def handle(self, *args, **options):
        watcher = IdleWatcher(lease_seconds=options["lease_seconds"])
        signal.signal(signal.SIGTERM, lambda *_: watcher.stop())
        self.stdout.write(
            f"Watching mailboxes with IMAP IDLE as {watcher.holder} (Ctrl+C to stop).",
        )
        self.stdout.flush()
        try:
            watcher.run()
        except KeyboardInterrupt:
            watcher.stop()
