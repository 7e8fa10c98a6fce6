"""Re-wrap every workspace key under the newest master key."""

from django.core.management.base import BaseCommand, CommandError

from accounts.keys import KeyRotationError, master_key_rotate
from trupeo.crypto import master_key_ring


class Command(BaseCommand):
    help = (
        "Re-wrap every workspace key under the newest master key in TRUPEO_MASTER_KEYS. "
        "No downtime: the older keys still unwrap meanwhile. Safe to run again. Once it "
        "reports success everywhere, the old keys can be retired from the setting."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int = 500, **options) -> None:
        newest = master_key_ring().newest.id
        try:
            count = master_key_rotate(batch_size=batch_size)
        except KeyRotationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-wrapped {count} workspace key(s) under master key {newest!r}.")
