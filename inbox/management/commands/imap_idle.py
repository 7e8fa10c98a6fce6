"""`manage.py imap_idle`: hold IMAP IDLE on every active mailbox and sync on new mail."""

import signal

from django.core.management.base import BaseCommand

from inbox.mail.idle import IdleWatcher


class Command(BaseCommand):
    help = "Watch every active IMAP mailbox with IDLE; new mail is synced within a second or two."

    def handle(self, *args, **options):
        watcher = IdleWatcher()
        signal.signal(signal.SIGTERM, lambda *_: watcher.stopped.set())
        self.stdout.write("Watching mailboxes with IMAP IDLE (Ctrl+C to stop).")
        try:
            watcher.run()
        except KeyboardInterrupt:
            watcher.stop()
