"""FETCH for many messages at once, read lean.

IMAPClient parses FETCH responses with a general lexer written in Python; on an initial sync
that cost more than threading and storing the messages. imaplib already reads the responses
and sets their literals (the messages themselves) apart, so this reads the few items a sync
asks for — UID, FLAGS, INTERNALDATE, RFC822.SIZE, BODY[] — from what imaplib returns.
"""

import imaplib
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone

from imapclient import IMAPClient

# A FETCH response's text: parentheses, quoted strings, atoms (numbers, flags, NIL, names).
_TOKEN = re.compile(rb'[()]|"(?:[^"\\]|\\.)*"|[^\s()"]+')
_OPEN, _CLOSE = object(), object()


class _Literal(bytes):
    """A literal's bytes: a value, never a parenthesis or an atom, whatever it holds."""


def uid_fetch(client: IMAPClient, uids: Iterable[int], items: str) -> dict[int, dict]:
    """`UID FETCH` of `items` (e.g. "BODY.PEEK[] FLAGS"): {uid: {b"FLAGS": ..., ...}}.

    Values: UID and RFC822.SIZE as ints, FLAGS as a tuple of bytes, INTERNALDATE as an
    aware UTC datetime (None if unreadable), BODY[] as bytes (None for NIL). Responses the
    server adds about other messages (flags changed elsewhere) are left out.
    """
    wanted = list(uids)
    if not wanted:
        return {}
    # imaplib's public call; IMAPClient keeps its connection in `_imap`.
    typ, data = client._imap.uid("FETCH", ",".join(map(str, wanted)), f"({items})")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH failed: {_text(data)}")
    by_seq: dict[int, dict] = {}
    for seq, values in fetch_responses(data):
        by_seq.setdefault(seq, {}).update(values)  # a server may split one message's items
    asked = set(wanted)
    return {
        values[b"UID"]: values
        for values in by_seq.values()
        if isinstance(values.get(b"UID"), int) and values[b"UID"] in asked
    }


def _text(data: list) -> str:
    first = data[0] if data else b""
    return first.decode("ascii", "replace")[:200] if isinstance(first, bytes) else ""


def _tokens(data: list) -> Iterator[object]:
    for element in data:
        if element is None:
            continue
        if isinstance(element, tuple):  # (text ending in "{size}", the literal's bytes)
            head, literal = element
            yield from _text_tokens(head[: head.rindex(b"{")])
            yield _Literal(literal)
        else:
            yield from _text_tokens(element)


def _text_tokens(text: bytes) -> Iterator[object]:
    for token in _TOKEN.findall(text):
        yield _OPEN if token == b"(" else _CLOSE if token == b")" else token


def fetch_responses(data: list) -> Iterator[tuple[int, dict]]:
    tokens = _tokens(data)
    for token in tokens:
        if type(token) is not bytes or not token.isdigit() or next(tokens, None) is not _OPEN:
            raise imaplib.IMAP4.error("unexpected FETCH response from the server")
        items = _list(tokens)
        names = items[::2]
        if len(items) % 2 or any(type(name) is not bytes for name in names):
            raise imaplib.IMAP4.error("unexpected FETCH response from the server")
        yield (
            int(token),
            {n.upper(): _value(n.upper(), v) for n, v in zip(names, items[1::2], strict=True)},
        )


def _list(tokens: Iterator[object]) -> list:
    items: list = []
    for token in tokens:
        if token is _CLOSE:
            return items
        items.append(_list(tokens) if token is _OPEN else token)
    raise imaplib.IMAP4.error("a FETCH response from the server ended early")


def _value(name: bytes, value):
    if name in (b"UID", b"RFC822.SIZE"):
        return int(value) if type(value) is bytes and value.isdigit() else None
    if name == b"FLAGS":
        return tuple(value) if isinstance(value, list) else ()
    if name == b"INTERNALDATE":
        return internaldate(_string(value))
    if name.startswith(b"BODY[") or name.startswith(b"RFC822"):
        return _string(value)
    return value


def _string(value) -> bytes | None:
    """A literal, a quoted string, or NIL."""
    if isinstance(value, _Literal):
        return bytes(value)
    if type(value) is bytes and value.startswith(b'"'):
        return re.sub(rb"\\(.)", rb"\1", value[1:-1])
    return None


_MONTHS = {
    month: number
    for number, month in enumerate(
        b"jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}
_DATE_TIME = re.compile(
    rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\s*"
)


def internaldate(value: bytes | None) -> datetime | None:
    """RFC 3501 date-time ("03-Dec-2026 20:10:00 +0100") as an aware UTC datetime."""
    found = _DATE_TIME.fullmatch(value) if value else None
    month = found and _MONTHS.get(found.group(2).lower())
    if not found or not month:
        return None
    day, _, year, hour, minute, second, sign, zone_h, zone_m = found.groups()
    offset = timedelta(hours=int(zone_h), minutes=int(zone_m))
    try:
        moment = datetime(
            int(year),
            month,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(-offset if sign == b"-" else offset),
        )
    except ValueError:  # 31-Feb, hour 25, a zone of a day or more
        return None
    return moment.astimezone(UTC)
