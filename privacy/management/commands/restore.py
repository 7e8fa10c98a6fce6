"""`manage.py restore BACKUP --yes`: restore a backup, then replay the deletion ledger."""

from django.core.management.base import BaseCommand, CommandError

from privacy.gdpr.backups import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Replace the database with a backup (a key listed by `manage.py backup --list`), "
        "then delete again every workspace and account deleted, and every person erased, "
        "since (the deletion ledger). A backup past its retention period cannot be restored: "
        "its data key is destroyed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "backup", help="The backup's key, e.g. backups/20261122T030000Z-postgresql"
        )
        parser.add_argument(
            "--yes", action="store_true", help="Confirm: the current data is replaced."
        )

    def handle(self, *args, backup: str, yes: bool, **options):
        if not yes:
            raise CommandError(
                "This replaces the whole database with the backup. Run again with --yes."
            )
        try:
            result = backup_restore(key=backup)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Restored {result['backup']}.")
        self.stdout.write(f"Deletions replayed from the ledger: {result['replayed']}")
