"""Print a fresh master key entry for TRUPEO_MASTER_KEYS."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from trupeo.crypto import default_master_key_id, master_key_ring, new_master_key


class Command(BaseCommand):
    help = (
        "Print a fresh 'id:base64key' master key. Put it FIRST in TRUPEO_MASTER_KEYS, keep the "
        "old keys after it, deploy, then run `manage.py rotate_master_key`."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", dest="key_id", help="key id (default: k<YYYYMMDD>)")

    def handle(self, *args, key_id: str | None = None, **options) -> None:
        if key_id is None:
            try:
                existing = master_key_ring().ids
            except ImproperlyConfigured:
                existing = ()  # a broken setting is no reason not to print a key
            key_id = default_master_key_id(existing)
        try:
            line = new_master_key(key_id)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # stdout holds only the entry, so it can be piped into a secret store.
        self.stdout.write(line)
        self.stderr.write(
            "Prepend it to TRUPEO_MASTER_KEYS (newest first), deploy, then run "
            "`python manage.py rotate_master_key`."
        )
