"""`manage.py backup`: an encrypted dump of the database into object storage, then prune."""

from django.core.management.base import BaseCommand, CommandError

from privacy.backups import BackupError, backup_create, backup_list, backup_prune


class Command(BaseCommand):
    help = (
        "Write an encrypted dump of the database (pg_dump custom format, or the SQLite file) "
        "to object storage under backups/, then delete backups older than "
        "TRUPEO_BACKUP_DAYS. --list shows the backups kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--list", dest="list_only", action="store_true", help="List backups; write none."
        )

    def handle(self, *args, list_only: bool, **options):
        if list_only:
            for backup in backup_list():
                self.stdout.write(f"{backup.key}\t{backup.taken_at:%Y-%m-%d %H:%M} UTC")
            return
        try:
            backup = backup_create()
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        pruned = backup_prune()
        self.stdout.write(f"Backup written: {backup.key}")
        self.stdout.write(f"Old backups deleted: {pruned}")
