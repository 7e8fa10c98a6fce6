"""What a client sends, read defensively: ids, moments and redirect targets.

Anything a browser can type or forge arrives here as a string. A value that is not what we
expect reads as None (the caller answers 400, 404 or an error in words), never as an exception
that would become a 500: `str.isdigit()` accepts "²", `int()` accepts 30 digits that no
database column holds, and `parse_datetime` raises on "2026-13-45".
"""

from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# The largest value of a PostgreSQL bigint: every id column of the project fits in it.
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """A database id (1 to 2**63-1) written in ASCII digits, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not (0 < len(value) <= 19 and value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def parse_moment(value: object) -> datetime | None:
    """An ISO date and time ("2026-03-02T09:00", with or without an offset) as an aware UTC
    datetime, else None. A naive one is read in the current time zone."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = parse_datetime(value.strip())
        if moment is None:
            return None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # "2026-13-45T10:00", or beyond year 9999 in UTC
        return None


class IdConverter:
    """`<id:name>` in a URL: an id as `parse_id` reads it; anything else is a 404 before the
    view runs (an `<int:...>` lets 30 digits through to the database, which refuses them)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)
