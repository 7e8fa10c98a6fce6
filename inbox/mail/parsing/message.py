"""What a parse returns: `ParsedMessage`, with its `Address`es and `Attachment`s."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, NamedTuple

from inbox.mail.auto_submitted import AutoFacts


class Address(NamedTuple):
    """A mailbox: display name as written, address lower-cased for matching."""

    name: str
    address: str


@dataclass(frozen=True)
class Attachment:
    """A non-body part. `payload` is transfer-decoded, validated at parse time.

    Decoding happens during the parse on purpose: a damaged attachment must be reported in
    `parse_problems` before the message is stored, and decoding is Rust-fast. Read it
    through `open()` to stream it (e.g. to object storage) without copying.
    """

    filename: str
    content_type: str
    content_id: str | None
    is_inline: bool
    payload: bytes = field(repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.payload)

    def open(self) -> BinaryIO:
        return io.BytesIO(self.payload)


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str  # "<id@host>", or "" when missing
    in_reply_to: str  # the first Message-ID in In-Reply-To, or ""
    references: tuple[str, ...]
    subject: str
    from_: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    date: datetime | None  # always timezone-aware
    text: str  # the plain-text body, or one derived from the HTML body
    html: str  # the HTML body as sent, "" when none (sanitised when shown: sanitise_html)
    text_from_html: bool  # True when `text` was derived from `html`
    attachments: tuple[Attachment, ...]
    snippet: str
    parse_problems: tuple[str, ...]
    parser: str  # "fast", "tolerant" (stdlib fallback) or "none" (nothing readable)
    # What the headers say about answering it automatically (flags only, no content).
    auto: AutoFacts = field(default_factory=AutoFacts)

    @property
    def has_attachments(self) -> bool:
        """True when there is something to download, not just images shown in the body."""
        return any(not attachment.is_inline for attachment in self.attachments)

    @property
    def inline_by_cid(self) -> dict[str, Attachment]:
        """Inline parts by Content-ID, to resolve `cid:` URLs in `html`."""
        return {a.content_id: a for a in self.attachments if a.content_id and a.is_inline}
