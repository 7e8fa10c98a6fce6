"""The header block: read with `compat32`, then Message-IDs, subject, addresses and date.

Also `normalise_subject`, the subject as threading compares it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from inbox.mail.parsing.addresses import read_address, split_address_list
from inbox.mail.parsing.header_text import decode_8bit_header, decode_header_value, unfold
from inbox.mail.parsing.message import Address
from inbox.mail.parsing.problems import (
    BAD_ADDRESSES,
    BAD_DATE,
    DUPLICATE_HEADER,
    IN_HEADERS,
    NO_DATE,
    NO_MESSAGE_ID,
    Problems,
)

# RFC 5322 allows each of these once. Duplicates are a spoofing trick or a broken mailer.
_SINGLE_HEADERS = (
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Headers:
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    date: datetime | None


def parse_header_block(raw: bytes, problems: Problems) -> Message:
    """compat32 on the header block alone: the body is left to the fast parser."""
    match = re.search(rb"\r?\n\r?\n", raw)
    block = raw[: match.end()] if match else raw
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(block)
    problems.add_defects(message.defects, IN_HEADERS)
    return message


class RawHeaders:
    """Header values as parsed, by lower-cased name.

    Read through `raw_items()`: compat32's `get()` turns a header with 8-bit bytes into an
    opaque `Header` object, while the raw value keeps them as surrogate escapes we repair.
    """

    def __init__(self, msg: Message) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self._values.setdefault(name.lower(), []).append(str(value))

    def all(self, name: str) -> list[str]:
        return self._values.get(name.lower(), [])

    def first(self, name: str) -> str:
        values = self._values.get(name.lower())
        return values[0] if values else ""


def read_headers(msg: RawHeaders, problems: Problems) -> Headers:
    for name in _SINGLE_HEADERS:
        if len(msg.all(name)) > 1:
            problems.add(DUPLICATE_HEADER, name=name)
    from_list = _addresses(msg, "From", problems)
    message_ids = _message_ids(msg.first("Message-ID"))
    if not message_ids:
        problems.add(NO_MESSAGE_ID)
    return Headers(
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=next(iter(_message_ids(msg.first("In-Reply-To"))), ""),
        references=tuple(_message_ids(msg.first("References"))),
        subject=decode_header_value(msg.first("Subject"), "Subject", problems).strip(),
        from_=from_list[0] if from_list else None,
        to=_addresses(msg, "To", problems, every=True),
        cc=_addresses(msg, "Cc", problems, every=True),
        bcc=_addresses(msg, "Bcc", problems, every=True),
        reply_to=_addresses(msg, "Reply-To", problems),
        date=_date(msg, problems),
    )


def _message_ids(value: str) -> list[str]:
    ids = _MESSAGE_ID.findall(unfold(value))
    if ids or not value.strip():
        return ids
    # Some mailers drop the angle brackets; keep anything that looks like an id.
    return [f"<{token.strip('<>')}>" for token in value.split() if "@" in token]


def _date(msg: RawHeaders, problems: Problems) -> datetime | None:
    value = unfold(msg.first("Date")).strip()
    if not value:
        problems.add(NO_DATE)
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.add(BAD_DATE)
        return None
    # "-0000" means "offset unknown": UTC is the honest reading.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _addresses(
    msg: RawHeaders, name: str, problems: Problems, *, every: bool = False
) -> tuple[Address, ...]:
    values = msg.all(name) if every else msg.all(name)[:1]
    found: list[Address] = []
    unreadable = False
    for value in values:
        text = unfold(value)
        if "=?" not in text or "\x1b" in text:
            # 8-bit bytes inside encoded words are left for `read_address`: they are in the
            # word's declared charset. ISO-2022 text is decoded first: its bytes hold commas.
            text = decode_8bit_header(text)
        for chunk in split_address_list(text):
            address = read_address(chunk, name, problems)
            if address is None:
                unreadable = True
            else:
                found.append(address)
    if unreadable:
        problems.add(BAD_ADDRESSES, name=name)
    return tuple(found)


# --- subjects ----------------------------------------------------------------------------

_SUBJECT_PREFIX = re.compile(
    r"^(?:\s*(?:re|fwd?|tr|r[ée]f\.?|aw|wg|sv|vs|antw)\s*(?:\[\d+\]|\(\d+\))?\s*[:：])+",
    re.IGNORECASE,
)


def normalise_subject(subject: str) -> str:
    """The subject without reply/forward prefixes (Re:, Fwd:, TR:, Réf. :, AW:, RE[2]: ...).

    Used for threading by subject, a last resort: compare results with `.casefold()`.
    """
    stripped = _SUBJECT_PREFIX.sub("", subject or "")
    return " ".join(stripped.split())
