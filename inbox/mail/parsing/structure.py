"""Raw bytes -> one `Part` tree: `fast_mail_parser` first, `compat32` when it refuses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser

import fast_mail_parser

from inbox.mail.parsing.header_text import decode_encoded_words
from inbox.mail.parsing.headers import parse_header_block
from inbox.mail.parsing.problems import IN_ATTACHMENT, IN_TEXT, TOO_LARGE, Problems

MAX_MESSAGE_BYTES = 100 * 1024 * 1024  # above this, headers only (fast_mail_parser's own cap)
MAX_DEPTH = 64  # MIME nesting deeper than this is hostile, not mail


def read_structure(raw: bytes, problems: Problems) -> tuple[Part | None, Message, str]:
    """(MIME tree, header Message, parser used). Fast parser first, stdlib when it refuses."""
    if len(raw) > MAX_MESSAGE_BYTES:
        problems.add(TOO_LARGE)
        return None, parse_header_block(raw, problems), "tolerant"
    try:
        fast_tree = _part_from_fast(fast_mail_parser.parse_email_tree(raw, mode="full"))
        if _has_filename(fast_tree) and _has_eight_bit_encoded_filename(raw):
            raise _UseTolerantParser  # it drops 8-bit bytes inside encoded filenames
    except Exception:  # any refusal from the Rust parser means "use the stdlib"
        message = BytesParser(policy=policy.compat32).parsebytes(raw)
        return _part_from_stdlib(message, problems), message, "tolerant"
    return fast_tree, parse_header_block(raw, problems), "fast"


class _UseTolerantParser(Exception):
    """The fast tree lost something the standard library keeps."""


# A Q-encoded word holding raw 8-bit bytes ("=?iso-8859-1?Q?r\xe9sum\xe9.pdf?="). Searched for
# only in messages with a named part (a minority); the literal "=?" keeps the search cheap.
_EIGHT_BIT_WORD = re.compile(rb"=\?[^?\s]+\?[qQ]\?[^?\r\n]*[\x80-\xff]")


def _has_eight_bit_encoded_filename(raw: bytes) -> bool:
    return any(
        b"name" in raw[max(0, word.start() - 12) : word.start()].lower()
        for word in _EIGHT_BIT_WORD.finditer(raw)
    )


def _has_filename(part: Part) -> bool:
    return bool(part.filename) or any(_has_filename(child) for child in part.children)


@dataclass
class Part:
    """One MIME node, whichever parser produced it."""

    content_type: str
    charset: str | None = None
    filename: str = ""
    content_id: str | None = None
    disposition: str | None = None
    payload: bytes = b""
    children: list[Part] = field(default_factory=list)
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


def _part_from_fast(node: fast_mail_parser.PyMimePart, depth: int = 0) -> Part:
    headers = {key.lower(): values for key, values in node.headers.items()}
    content_type_header = (headers.get("content-type") or [""])[0]
    content_type = _clean_content_type(node.content_type)
    part = Part(
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


def _part_from_stdlib(msg: Message, problems: Problems, depth: int = 0) -> Part:
    content_type = _clean_content_type(msg.get_content_type())
    filename = _stdlib_filename(msg)
    part = Part(
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
    where = IN_ATTACHMENT if filename or content_type[:5] != "text/" else IN_TEXT
    problems.add_defects(msg.defects, where)
    return part


def _stdlib_filename(msg: Message) -> str:
    try:
        name = msg.get_filename() or msg.get_param("name") or ""
    except (TypeError, ValueError, LookupError):
        return ""
    if isinstance(name, tuple):  # an RFC 2231 triple get_param did not collapse
        name = name[2]
    if "\ufffd" in name:
        # compat32 replaced raw 8-bit bytes; the raw header still has them (as surrogate
        # escapes), and they are in the charset of the encoded word around them.
        name = _raw_filename(msg) or name
    return decode_encoded_words(str(name))[0]


def _raw_filename(msg: Message) -> str | None:
    values = {key.lower(): str(value) for key, value in msg.raw_items()}
    disposition, content_type = values.get("content-disposition"), values.get("content-type")
    return (disposition and _param(disposition, "filename")) or (
        content_type and _param(content_type, "name")
    )


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
