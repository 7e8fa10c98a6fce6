"""Raw MIME bytes -> ParsedMessage, for any input, without ever raising.

How the work is split (DESIGN.md, "Mail sync that never loses a message"):

* Headers always come from the standard library (`policy.compat32`) on the header block only:
  it is tolerant and cheap there, and it is the source of truth for Message-ID, References,
  addresses and dates. Our own decoders then handle RFC 2047 words, 8-bit headers and
  unknown charsets, which is where real mail is most often broken.
* The MIME tree and transfer decoding (base64, quoted-printable) come from the Rust
  `fast_mail_parser` when it accepts the message (~0.1 ms), and from `compat32` when it
  raises (damaged base64, hostile nesting). `policy.default` is never used: it costs three
  times more for the same result.
* Both trees are turned into one small `_Part` tree, so classification (body or
  attachment), charset repair and problem reporting are written once.

`parse_problems` never quotes message content (no subjects, names, addresses or filenames),
so it can be stored in clear and shown on the sync-health pages staff watch.
"""

from __future__ import annotations

import binascii
import codecs
import html as html_lib
import inspect
import io
import logging
import mimetypes
import re
import traceback
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from typing import BinaryIO, NamedTuple
from urllib.parse import unquote

import fast_mail_parser
import nh3
from charset_normalizer import from_bytes as detect_charset

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 100 * 1024 * 1024  # above this, headers only (fast_mail_parser's own cap)
MAX_DEPTH = 64  # MIME nesting deeper than this is hostile, not mail
SNIPPET_LENGTH = 160


# --- public types ------------------------------------------------------------------------


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
    html: str  # sanitised HTML body, "" when the message has none
    text_from_html: bool  # True when `text` was derived from `html`
    attachments: tuple[Attachment, ...]
    snippet: str
    parse_problems: tuple[str, ...]
    parser: str  # "fast", "tolerant" (stdlib fallback) or "none" (nothing readable)

    @property
    def has_attachments(self) -> bool:
        """True when there is something to download, not just images shown in the body."""
        return any(not attachment.is_inline for attachment in self.attachments)

    @property
    def inline_by_cid(self) -> dict[str, Attachment]:
        """Inline parts by Content-ID, to resolve `cid:` URLs in `html`."""
        return {a.content_id: a for a in self.attachments if a.content_id and a.is_inline}


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw message bytes. Never raises: whatever fails becomes a parse problem."""
    try:
        return _parse(bytes(raw))
    except Exception as exc:  # the contract is "never raises"
        # Log where it broke, never the exception text: it may quote message content.
        location = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        logger.error("parse_message failed with %s\n%s", type(exc).__name__, location)
        return _empty_message([f"The message could not be read ({type(exc).__name__})."])


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


# --- the parse ---------------------------------------------------------------------------


def _parse(raw: bytes) -> ParsedMessage:
    raw = _strip_mbox_from_line(raw)
    problems = _Problems()
    tree, header_msg, parser = _read_structure(raw, problems)
    if not header_msg.keys():
        # Not an email at all: keep nothing that could be mistaken for content.
        return _empty_message(["This is not an email message: no header could be read."])
    headers = _read_headers(_RawHeaders(header_msg), problems)
    body = _Body(problems)
    if tree is not None:
        body.collect(tree, raw)
    return _assemble(headers, body, problems, parser)


def _read_structure(raw: bytes, problems: _Problems) -> tuple[_Part | None, Message, str]:
    """(MIME tree, header Message, parser used). Fast parser first, stdlib when it refuses."""
    if len(raw) > MAX_MESSAGE_BYTES:
        problems.add("The message is too large to be read; only its headers were.")
        return None, _parse_header_block(raw, problems), "tolerant"
    try:
        fast_tree = _part_from_fast(fast_mail_parser.parse_email_tree(raw, mode="full"))
    except Exception:  # any refusal from the Rust parser means "use the stdlib"
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        return _part_from_stdlib(message, problems), message, "tolerant"
    return fast_tree, _parse_header_block(raw, problems), "fast"


class _UseTolerantParser(Exception):
    """The fast tree lost something the standard library keeps."""


def _assemble(headers: _Headers, body: _Body, problems: _Problems, parser: str) -> ParsedMessage:
    html = _sanitise_html(body.html).strip() if body.html else ""
    text, text_from_html = body.text, False
    if not text.strip() and html:
        text, text_from_html = html_to_text(html), True
    attachments = body.attachments(_referenced_cids(html))
    return ParsedMessage(
        message_id=headers.message_id,
        in_reply_to=headers.in_reply_to,
        references=headers.references,
        subject=headers.subject,
        from_=headers.from_,
        to=headers.to,
        cc=headers.cc,
        bcc=headers.bcc,
        reply_to=headers.reply_to,
        date=headers.date,
        text=text,
        html=html,
        text_from_html=text_from_html,
        attachments=attachments,
        snippet=make_snippet(text),
        parse_problems=problems.as_tuple(),
        parser=parser,
    )


def _empty_message(problems: list[str]) -> ParsedMessage:
    return ParsedMessage(
        message_id="",
        in_reply_to="",
        references=(),
        subject="",
        from_=None,
        to=(),
        cc=(),
        bcc=(),
        reply_to=(),
        date=None,
        text="",
        html="",
        text_from_html=False,
        attachments=(),
        snippet="",
        parse_problems=tuple(problems),
        parser="none",
    )


def _strip_mbox_from_line(raw: bytes) -> bytes:
    # Files exported from mbox start with an envelope line that is not a header.
    if raw.startswith(b"From ") and not raw.startswith(b"From :"):
        newline = raw.find(b"\n")
        return raw[newline + 1 :] if newline != -1 else b""
    return raw


class _Problems:
    """Human-readable, content-free parse problems, each reported once, in order."""

    _DEFECTS = {
        "CloseBoundaryNotFoundDefect": (
            "A multipart section is not closed (missing final boundary); "
            "the message may be truncated."
        ),
        "StartBoundaryNotFoundDefect": (
            "A multipart section has no starting boundary; its parts could not be separated."
        ),
        "NoBoundaryInMultipartDefect": (
            "A multipart section declares no boundary; its parts could not be separated."
        ),
        "MultipartInvariantViolationDefect": "The MIME structure is inconsistent.",
        "MissingHeaderBodySeparatorDefect": (
            "A header line could not be read; what follows it was treated as the body."
        ),
        "FirstHeaderLineIsContinuationDefect": "The header block starts with a folded line.",
        "MisplacedEnvelopeHeaderDefect": "An envelope 'From ' line appears among the headers.",
        "InvalidBase64PaddingDefect": "Base64 content in {where} is damaged (bad padding).",
        "InvalidBase64CharactersDefect": "Base64 content in {where} contains invalid characters.",
        "InvalidBase64LengthDefect": (
            "Base64 content in {where} is truncated; only part of it could be recovered."
        ),
    }

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, problem: str) -> None:
        self._items.setdefault(problem, None)

    def add_defects(self, defects: Iterable[email_errors.MessageDefect], where: str) -> None:
        for defect in defects:
            self.add_defect(type(defect).__name__, where)

    def add_defect(self, name: str, where: str = "the message") -> None:
        template = self._DEFECTS.get(name, "The MIME structure has a defect ({name}).")
        self.add(template.format(where=where, name=name))

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._items)


# --- headers -----------------------------------------------------------------------------

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
class _Headers:
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


def _parse_header_block(raw: bytes, problems: _Problems) -> Message:
    """compat32 on the header block alone: the body is left to the fast parser."""
    match = re.search(rb"\r?\n\r?\n", raw)
    block = raw[: match.end()] if match else raw
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(block)
    problems.add_defects(message.defects, "the headers")
    return message


class _RawHeaders:
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


def _read_headers(msg: _RawHeaders, problems: _Problems) -> _Headers:
    for name in _SINGLE_HEADERS:
        if len(msg.all(name)) > 1:
            problems.add(f"The {name} header appears several times; the first one was used.")
    from_list = _addresses(msg, "From", problems)
    message_ids = _message_ids(msg.first("Message-ID"))
    if not message_ids:
        problems.add("The message has no Message-ID.")
    return _Headers(
        message_id=message_ids[0] if message_ids else "",
        in_reply_to=next(iter(_message_ids(msg.first("In-Reply-To"))), ""),
        references=tuple(_message_ids(msg.first("References"))),
        subject=_header_text(msg.first("Subject"), "Subject", problems).strip(),
        from_=from_list[0] if from_list else None,
        to=_addresses(msg, "To", problems, every=True),
        cc=_addresses(msg, "Cc", problems, every=True),
        bcc=_addresses(msg, "Bcc", problems, every=True),
        reply_to=_addresses(msg, "Reply-To", problems),
        date=_date(msg, problems),
    )


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def _header_text(value: str, name: str, problems: _Problems) -> str:
    """Unfold, repair 8-bit bytes, decode RFC 2047 words."""
    return _decode_words(_decode_8bit_header(_unfold(value)), name, problems)


def _decode_words(text: str, name: str, problems: _Problems) -> str:
    decoded, clean = decode_encoded_words(text)
    if not clean:
        problems.add(f"The {name} header has encoded text that could not be fully decoded.")
    return decoded


_SURROGATE_ESCAPE = re.compile("[\udc80-\udcff]")


def _decode_8bit_header(value: str) -> str:
    # compat32 keeps raw non-ASCII header bytes as surrogate escapes; most are UTF-8.
    if value.isascii() or not _SURROGATE_ESCAPE.search(value):
        return value
    return _decode_guessing_western(value.encode("utf-8", "surrogateescape"))


def _message_ids(value: str) -> list[str]:
    ids = _MESSAGE_ID.findall(_unfold(value))
    if ids or not value.strip():
        return ids
    # Some mailers drop the angle brackets; keep anything that looks like an id.
    return [f"<{token.strip('<>')}>" for token in value.split() if "@" in token]


def _date(msg: _RawHeaders, problems: _Problems) -> datetime | None:
    value = _unfold(msg.first("Date")).strip()
    if not value:
        problems.add("The message has no Date header.")
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.add("The Date header could not be read.")
        return None
    # "-0000" means "offset unknown": UTC is the honest reading.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --- RFC 2047 encoded words --------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_ENCODED_WORD_START = re.compile(r"=\?[^?\s]+\?[bBqQ]\?")


def decode_encoded_words(text: str) -> tuple[str, bool]:
    """Decode RFC 2047 words leniently. Returns (text, clean) - clean is False on repairs.

    Adjacent words in the same charset are joined as bytes before decoding, because
    mailers split multi-byte characters across words; whitespace between words is dropped.
    """
    if "=?" not in text:
        return text, True
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    clean = True
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()  # drop an RFC 2231 language tag
        data = _decode_word_payload(match.group(2), match.group(3))
        if data is None:  # undecodable: keep the word as written
            clean = False
            data, charset = match.group(0).encode(), "ascii"
        if pending and (between.strip() or charset != pending_charset):
            text_part, ok = _decode_header_bytes(bytes(pending), pending_charset)
            out.append(text_part)
            clean &= ok
            pending.clear()
        if not pending:
            out.append(between if position == 0 or between.strip() else "")
        pending += data
        pending_charset = charset
        position = match.end()
    if pending:
        text_part, ok = _decode_header_bytes(bytes(pending), pending_charset)
        out.append(text_part)
        clean &= ok
    out.append(text[position:])
    decoded = "".join(out)
    # A word left undecoded (unterminated, say) is a repair the reader should know about.
    return decoded, clean and _ENCODED_WORD_START.search(decoded) is None


def _decode_word_payload(encoding: str, data: str) -> bytes | None:
    try:
        if encoding in "bB":
            padded = data.strip() + "=" * (-len(data.strip()) % 4)
            return binascii.a2b_base64(padded.encode("ascii"))
        return binascii.a2b_qp(data.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return None


def _decode_header_bytes(data: bytes, charset: str) -> tuple[str, bool]:
    codec = _resolve_charset(charset)
    if codec is not None:
        try:
            return data.decode(codec), True
        except UnicodeError:
            pass
    return _decode_guessing_western(data), False


def _decode_guessing_western(data: bytes) -> str:
    """Short strings are too small to detect reliably: UTF-8, else Windows-1252 (French)."""
    for codec in ("utf-8", "cp1252"):
        try:
            return data.decode(codec)
        except UnicodeError:
            continue
    return data.decode("latin-1")  # maps every byte: cannot fail


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeError:
        return False
    return True


# --- addresses ---------------------------------------------------------------------------

_VALID_ADDRESS = re.compile(r"^[^@\s<>()\[\]\",;:\\]+@[^@\s<>()\[\]\",;:\\]+$")
# Python >= 3.12.6/3.13 parse addresses strictly by default and return ('', '') for any
# oddity; we want the lenient reading and do our own validation.
_PARSEADDR_OPTIONS = (
    {"strict": False} if "strict" in inspect.signature(parseaddr).parameters else {}
)


def _addresses(
    msg: _RawHeaders, name: str, problems: _Problems, *, every: bool = False
) -> tuple[Address, ...]:
    values = msg.all(name) if every else msg.all(name)[:1]
    found: list[Address] = []
    unreadable = False
    for value in values:
        for chunk in split_address_list(_decode_8bit_header(_unfold(value))):
            address = _address(chunk, name, problems)
            if address is None:
                unreadable = True
            else:
                found.append(address)
    if unreadable:
        problems.add(f"Some addresses in the {name} header could not be read and were skipped.")
    return tuple(found)


def _address(chunk: str, header: str, problems: _Problems) -> Address | None:
    display, address = parseaddr(chunk, **_PARSEADDR_OPTIONS)
    address = address.strip().strip("<>")
    if not _VALID_ADDRESS.match(address):
        return None
    # The list was already unfolded and 8-bit repaired before it was split.
    display_name = _decode_words(display, header, problems).strip() if display else ""
    return Address(display_name, address.lower())


def split_address_list(value: str) -> list[str]:
    """Split an address header on top-level commas/semicolons, tolerating broken quoting.

    Groups ("team: a@x, b@x;") are flattened. An unbalanced quote or parenthesis is
    treated as a plain character, so one broken entry cannot swallow the rest.
    """
    literal: set[int] = set()
    for _ in range(_MAX_QUOTE_REPAIRS):
        chunks, unbalanced_at = _split_top_level(value, literal)
        if unbalanced_at is None:
            break
        literal.add(unbalanced_at)
    else:  # hostile quoting: stop repairing (that would be quadratic) and ignore it all
        chunks, _ = _split_top_level(value, literal, ignore_quoting=True)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


_MAX_QUOTE_REPAIRS = 4  # real mail has one or two stray quotes, not hundreds


def _split_top_level(
    value: str, literal: set[int], *, ignore_quoting: bool = False
) -> tuple[list[str], int | None]:
    chunks: list[str] = []
    current: list[str] = []
    quote_at: int | None = None
    paren_at: list[int] = []
    escaped = False
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif char == "\\" and (quote_at is not None or paren_at):
            escaped = True
        elif ignore_quoting or index in literal:
            pass
        elif quote_at is not None:
            if char == '"':
                quote_at = None
        elif char == '"' and not paren_at:
            quote_at = index
        elif char == "(":
            paren_at.append(index)
        elif char == ")" and paren_at:
            paren_at.pop()
        elif not paren_at and char in ",;":
            chunks.append("".join(current))
            current = []
            continue
        elif not paren_at and char == ":":
            current = []  # a group's display name, not an address
            continue
        current.append(char)
    if quote_at is not None:
        return chunks, quote_at
    if paren_at:
        return chunks, paren_at[0]
    chunks.append("".join(current))
    return chunks, None


# --- the MIME tree -----------------------------------------------------------------------


@dataclass
class _Part:
    """One MIME node, whichever parser produced it."""

    content_type: str
    charset: str | None = None
    filename: str = ""
    content_id: str | None = None
    disposition: str | None = None
    payload: bytes = b""
    children: list[_Part] = field(default_factory=list)
    boundary: str | None = None
    is_message: bool = False


_PARAM = re.compile(r";\s*([\w*.-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^;\s]*)")
_CONTENT_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")


def _param(header_value: str, name: str) -> str | None:
    for key, value in _PARAM.findall(header_value):
        if key.lower() == name:
            return value[1:-1].replace('\\"', '"') if value.startswith('"') else value
    return None


def _clean_content_type(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value if _CONTENT_TYPE.match(value) else "application/octet-stream"


def _part_from_fast(node: fast_mail_parser.PyMimePart, depth: int = 0) -> _Part:
    headers = {key.lower(): values for key, values in node.headers.items()}
    content_type_header = (headers.get("content-type") or [""])[0]
    content_type = _clean_content_type(node.content_type)
    part = _Part(
        content_type=content_type,
        charset=_param(content_type_header, "charset"),
        filename=decode_encoded_words(node.filename or "")[0],
        content_id=_clean_content_id(node.content_id),
        disposition=(node.disposition or "").lower() or None,
        payload=node.content or b"",
        boundary=_param(content_type_header, "boundary"),
        is_message=bool(node.is_message),
    )
    if content_type.startswith("multipart/") and not node.children:
        raise _UseTolerantParser  # no boundary: the stdlib keeps the body as text, we drop it
    if not part.is_message and depth < MAX_DEPTH:
        part.children = [_part_from_fast(child, depth + 1) for child in node.children]
    return part


def _part_from_stdlib(msg: Message, problems: _Problems, depth: int = 0) -> _Part:
    content_type = _clean_content_type(msg.get_content_type())
    filename = _stdlib_filename(msg)
    part = _Part(
        content_type=content_type,
        charset=msg.get_content_charset(None),
        filename=filename,
        content_id=_clean_content_id(str(msg.get("Content-ID") or "")),
        disposition=msg.get_content_disposition(),
        is_message=content_type == "message/rfc822",
    )
    if msg.is_multipart():
        children = [child for child in msg.get_payload() if isinstance(child, Message)]
        if part.is_message:
            part.payload = _embedded_message_bytes(children)
        elif depth < MAX_DEPTH:
            part.children = [_part_from_stdlib(c, problems, depth + 1) for c in children]
    else:
        # Only ever decode=True: the str form decodes with the declared charset and can
        # raise on a hostile label, where the bytes form cannot.
        decoded = msg.get_payload(decode=True)
        part.payload = decoded if isinstance(decoded, bytes) else b""
    where = "an attachment" if filename or content_type[:5] != "text/" else "the message text"
    problems.add_defects(msg.defects, where)
    return part


def _stdlib_filename(msg: Message) -> str:
    try:
        name = msg.get_filename() or msg.get_param("name") or ""
    except (TypeError, ValueError, LookupError):
        return ""
    if isinstance(name, tuple):  # an RFC 2231 triple get_param did not collapse
        name = name[2]
    return decode_encoded_words(_decode_8bit_header(str(name)))[0]


def _embedded_message_bytes(children: list[Message]) -> bytes:
    if not children:
        return b""
    try:
        return children[0].as_bytes(policy=policy.compat32)
    except (TypeError, ValueError, LookupError, UnicodeError):
        return b""


def _clean_content_id(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip().strip("<>").strip() or None


# --- bodies and attachments --------------------------------------------------------------

_BODY_TYPES = ("text/plain", "text/html")
_IGNORED_TYPES = ("text/x-amp-html",)  # Gmail AMP: an alternative nobody should render


class _Body:
    """Walks a `_Part` tree into body texts and attachment parts."""

    def __init__(self, problems: _Problems) -> None:
        self._problems = problems
        self._texts: list[str] = []
        self._htmls: list[str] = []
        self._attachment_parts: list[_Part] = []

    @property
    def text(self) -> str:
        return "\n\n".join(self._texts)

    @property
    def html(self) -> str:
        return "\n".join(self._htmls)

    def collect(self, part: _Part, raw: bytes, depth: int = 0) -> None:
        if depth >= MAX_DEPTH:
            self._problems.add("The MIME structure is nested too deeply; inner parts were skipped.")
            return
        if part.content_type.startswith("multipart/") and part.children:
            self._check_closed(part, raw)
            for child in part.children:
                self.collect(child, raw, depth + 1)
        elif part.content_type.startswith("multipart/"):
            # No parts could be separated: keep whatever is there as text, never drop it.
            self._problems.add_defect("NoBoundaryInMultipartDefect")
            if part.payload.strip():
                self._add_body(replace(part, content_type="text/plain"))
        elif part.content_type in _IGNORED_TYPES:
            return
        elif self._is_body(part):
            self._add_body(part)
        else:
            self._attachment_parts.append(part)

    def attachments(self, referenced_cids: set[str]) -> tuple[Attachment, ...]:
        return tuple(
            Attachment(
                filename=_attachment_filename(part, index),
                content_type=part.content_type,
                content_id=part.content_id,
                is_inline=part.content_id is not None and part.content_id in referenced_cids,
                payload=part.payload,
            )
            for index, part in enumerate(self._attachment_parts, start=1)
        )

    @staticmethod
    def _is_body(part: _Part) -> bool:
        return (
            part.content_type in _BODY_TYPES
            and part.disposition != "attachment"
            and not part.filename
        )

    def _add_body(self, part: _Part) -> None:
        is_html = part.content_type == "text/html"
        charset = part.charset or (_meta_charset(part.payload) if is_html else None)
        where = "the HTML text" if is_html else "the message text"
        # One line ending everywhere: CRLF from the wire, LF from files.
        text = decode_text(part.payload, charset, self._problems, where).replace("\r\n", "\n")
        (self._htmls if is_html else self._texts).append(text)

    def _check_closed(self, part: _Part, raw: bytes) -> None:
        # The fast parser accepts a missing final boundary silently; the stdlib reports it
        # as a defect. Checking the raw bytes is a memchr-speed search.
        if part.boundary and b"--" + part.boundary.encode("utf-8", "replace") + b"--" not in raw:
            self._problems.add_defect("CloseBoundaryNotFoundDefect")


def _attachment_filename(part: _Part, index: int) -> str:
    name = _safe_filename(part.filename)
    if name:
        return name
    if part.is_message:
        subject = _embedded_subject(part.payload)
        return (_safe_filename(subject) or "message") + ".eml"
    if part.content_type == "text/calendar":
        return "invite.ics"
    extension = mimetypes.guess_extension(part.content_type) or ".bin"
    return f"attachment-{index}{extension}"


def _safe_filename(name: str) -> str:
    """A name that is safe to show and to offer for download: no path, no controls."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    name = " ".join(name.split()).lstrip(".")
    if len(name) > 200:  # shorten, keeping a plausible extension
        stem, dot, extension = name.rpartition(".")
        keep = dot and len(extension) <= 16
        name = stem[: 199 - len(extension)] + "." + extension if keep else name[:200]
    return name


def _embedded_subject(payload: bytes) -> str:
    subject = _RawHeaders(_parse_header_block(payload, _Problems())).first("Subject")
    return decode_encoded_words(_decode_8bit_header(_unfold(subject)))[0]


_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:-]+)", re.IGNORECASE)


def _meta_charset(payload: bytes) -> str | None:
    match = _META_CHARSET.search(payload[:4096])
    return match.group(1).decode("ascii") if match else None


_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)


def _referenced_cids(html: str) -> set[str]:
    return {unquote(match).strip("<>") for match in _CID_REFERENCE.findall(html)}


# --- charsets ----------------------------------------------------------------------------

_LATIN1 = "iso8859-1"  # codecs.lookup("iso-8859-1").name
# Encodings that spell non-ASCII text with ASCII bytes (Japanese mail uses ISO-2022-JP).
_SEVEN_BIT_ENCODINGS = ("iso2022", "utf-7", "utf-16", "utf-32", "hz")

# Labels seen in real mail that Python does not know, or knows under another meaning.
# None means "this label says nothing": detect instead.
_CHARSET_ALIASES: dict[str, str | None] = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "latin-1": _LATIN1,
    "latin1": _LATIN1,
    "iso8859-1": _LATIN1,
    "iso-8859-1": _LATIN1,
    "iso_8859-1": _LATIN1,
    "iso-latin-1": _LATIN1,
    "latin-9": "iso8859-15",
    "latin9": "iso8859-15",
    "win-1252": "cp1252",
    "cp-1252": "cp1252",
    "windows1252": "cp1252",
    "windows-1252": "cp1252",
    "x-cp1252": "cp1252",
    "ansi": "cp1252",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",  # mailers label GBK/GB18030 text as GB2312
    "gbk": "gb18030",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-unknown": None,
    "unknown": None,
    "unknown-8bit": None,
    "x-user-defined": None,
    "default": None,
    "charset": None,
}


def _resolve_charset(label: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when it is unknown."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if key in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[key]
    try:
        codec = codecs.lookup(key)
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None
    # Python also knows codecs that are not mail charsets ("base64", "unicode_escape").
    if not getattr(codec, "_is_text_encoding", True) or codec.name in _NOT_CHARSETS:
        return None
    return codec.name


_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}


def decode_text(data: bytes, label: str | None, problems: _Problems, where: str) -> str:
    """Body bytes -> str: declared charset, else alias table, else detection. Never raises."""
    codec = _resolve_charset(label)
    if data.isascii() and not (codec or "").startswith(_SEVEN_BIT_ENCODINGS):
        return data.decode("ascii")  # every other charset agrees on ASCII bytes
    if codec == "ascii":
        problems.add(f"8-bit text in {where} is labelled us-ascii; its encoding was guessed.")
    elif codec is not None:
        if codec == _LATIN1 and _is_cp1252(data):
            codec = "cp1252"  # like browsers: senders labelling Latin-1 mean Windows-1252
        try:
            return data.decode(codec)
        except UnicodeError:
            problems.add(f"Text in {where} is not valid {_short(label)}; its encoding was guessed.")
    elif label:
        problems.add(f"Unknown character set {_short(label)!r} in {where}; it was guessed.")
    else:
        problems.add(f"No character set declared for 8-bit text in {where}; it was guessed.")
    return _detect_and_decode(data)


def _detect_and_decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")  # a strict UTF-8 decode of 8-bit text is near-certain
    except UnicodeError:
        pass
    codec = _detect(data[:65536])
    if codec:
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):
            pass
    return data.decode("utf-8", errors="replace")


def _detect(data: bytes) -> str | None:
    """charset_normalizer's pick, preferring Windows-1252 when it reads as well (French)."""
    matches = list(detect_charset(data))
    if not matches:
        return None
    best = matches[0]
    for match in matches:
        as_good = match.chaos <= best.chaos + 0.01 and match.coherence >= best.coherence - 0.05
        if as_good and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return best.encoding


def _short(label: str | None) -> str:
    # Problems are stored in clear: keep a charset label, never arbitrary sender text.
    return re.sub(r"[^A-Za-z0-9._:+-]", "?", label or "")[:40] or "?"


# --- HTML ------------------------------------------------------------------------------

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "figcaption", "figure", "font", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}  # fmt: skip
_CELL_ATTRIBUTES = {"colspan", "rowspan", "width", "height", "valign", "bgcolor"}
_ALLOWED_ATTRIBUTES = {
    "*": {"align", "dir", "lang", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor"},
    "tr": {"bgcolor", "valign"},
    "td": _CELL_ATTRIBUTES,
    "th": _CELL_ATTRIBUTES,
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"},
}
# Removed with their content, not just unwrapped.
_DROPPED_WITH_CONTENT = {
    "script", "style", "title", "noscript", "template", "iframe", "object", "embed",
    "applet", "frameset", "svg", "math", "textarea", "select",
}  # fmt: skip

# No style (CSS can exfiltrate and overlay the UI), no forms, no event handlers, no
# data:/javascript: URLs, and no relative URLs (they would resolve against our own origin).
# cid: and http(s) images are kept as they are: the UI decides what to load.
_HTML_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    attributes=_ALLOWED_ATTRIBUTES,
    clean_content_tags=_DROPPED_WITH_CONTENT,
    url_schemes={"http", "https", "mailto", "tel", "cid"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)
_TEXT_CLEANER = nh3.Cleaner(tags=set(), clean_content_tags=_DROPPED_WITH_CONTENT | {"head"})
_LINE_BREAK_AFTER = re.compile(
    r"<\s*(?:br|hr|/p|/div|/tr|/li|/h[1-6]|/table|/blockquote|/pre|/dt|/dd|/ul|/ol)\b[^>]*>",
    re.IGNORECASE,
)
_CELL_END = re.compile(r"<\s*/t[dh]\s*>", re.IGNORECASE)


def _sanitise_html(html: str) -> str:
    return _HTML_CLEANER.clean(html)


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: block ends become line breaks, tags and scripts go."""
    marked = _CELL_END.sub(" \\g<0>", _LINE_BREAK_AFTER.sub("\\g<0>\n", html))
    text = html_lib.unescape(_TEXT_CLEANER.clean(marked))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def make_snippet(text: str, length: int = SNIPPET_LENGTH) -> str:
    collapsed = " ".join(text[: length * 8].split())  # a prefix is enough, even if blank-heavy
    if len(collapsed) <= length:
        return collapsed
    cut = collapsed[:length].rsplit(" ", 1)[0] or collapsed[:length]
    return cut + "…"
