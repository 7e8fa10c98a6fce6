"""`manage.py backup`: an encrypted dump of the database into object storage, then prune."""

from django.core.management.base import BaseCommand, CommandError

from privacy.gdpr.backups import BackupError, backup_create, backup_list, backup_prune


class Command(BaseCommand):
    help = (
        "Write an encrypted dump of the database (pg_dump custom format, or the SQLite file) "
        "to object storage under backups/, sealed under its own data key; then destroy the "
        "keys of the backups older than TRUPEO_BACKUP_DAYS and delete those backups (even "
        "when the new backup fails). --list shows the backups kept; --prune only prunes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--list", dest="list_only", action="store_true", help="List backups; write none."
        )
        parser.add_argument(
            "--prune", dest="prune_only", action="store_true", help="Prune only; write none."
        )

    def handle(self, *args, list_only: bool, prune_only: bool, **options):
        if list_only:
            for backup in backup_list():
                self.stdout.write(f"{backup.key}\t{backup.taken_at:%Y-%m-%d %H:%M} UTC")
            return
        failure = None
        if not prune_only:
            try:
                backup = backup_create()
            except BackupError as exc:
                failure = exc
            else:
                self.stdout.write(f"Backup written: {backup.key}")
        # Expired backups go whatever happened to today's: the 30 days do not wait for it.
        pruned = backup_prune()
        self.stdout.write(
            f"Expired backups: {pruned.keys} data key(s) destroyed, "
            f"{pruned.backups} backup(s) deleted."
        )
        if failure is not None:
            raise CommandError(f"The backup failed: {failure}")
