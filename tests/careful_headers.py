"""A careful, slow, independent reading of a header block: the reference the parser is held to.

It is written differently from `inbox.mail.parsing` on purpose (line by line over the raw bytes,
then the standard library's `email.header.decode_header`), so that a test comparing the two
measures something: a person's reading of the header block, not our parser against itself.

* Lenient like a person: a byte-order mark, an mbox envelope line, spaces before the colon
  (`To    : x`, RFC 5322 obsolete syntax) are stepped over; a line that is not a header
  continues the one before (a fold that lost its indentation), or is skipped before the
  first header; the header block ends at the first empty line.
* Encoded words are decoded in their declared charset, raw 8-bit bytes included (they are
  what the sender's mailer meant); unlabelled 8-bit text is UTF-8, else Windows-1252; text
  with ISO-2022 escape sequences is Japanese (ISO-2022-JP and its extensions).
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

_HEADER_LINE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)$", re.DOTALL)
# What a person recognises as the head of an email.
_EMAIL_HEADERS = {b"from", b"to", b"subject", b"date", b"message-id", b"received", b"cc"}


def header_fields(raw: bytes) -> list[tuple[str, bytes]]:
    """(lower-cased name, unfolded raw value) for each header line a person can read."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if raw.startswith(b"From ") and not re.match(rb"From[ \t]*:", raw):
        raw = raw.partition(b"\n")[2]
    fields: list[tuple[str, bytes]] = []
    current: tuple[str, bytearray] | None = None
    for line in re.split(rb"\r\n|\r|\n", raw):  # old Macs end lines with CR alone
        if not line:
            break  # a line of spaces is not the end of the headers: it folds
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current[1].extend(line)
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            if current is not None:  # a fold that lost its indentation
                current[1].extend(b" " + line)
            continue
        current = (match.group(1).decode("ascii").lower(), bytearray(match.group(2)))
        fields.append(current)  # type: ignore[arg-type]
    return [(name, bytes(value)) for name, value in fields]


def looks_like_email(raw: bytes) -> bool:
    """True when a person would see a header block: at least one header mail always has."""
    return any(name.encode() in _EMAIL_HEADERS for name, _ in header_fields(raw))


def careful_subject(raw: bytes) -> str:
    """The subject as a careful reader decodes it ("" when there is none)."""
    for name, value in header_fields(raw):
        if name == "subject":
            return _decode(value)
    return ""


def _decode(value: bytes) -> str:
    # decode_header hands back each unencoded stretch as `str.encode("raw-unicode-escape")`,
    # so a Latin-1 reading of the raw bytes gives the original bytes back, 8-bit ones included.
    parts = decode_header(value.decode("latin-1"))
    if len(parts) == 1 and parts[0][1] is None and isinstance(parts[0][0], str):
        parts = [(value, None)]
    text = "".join(_text(data, charset) for data, charset in parts)
    return " ".join(text.split())


def _text(data: bytes | str, charset: str | None) -> str:
    if isinstance(data, str):
        data = data.encode("latin-1")
    if charset:
        label = charset.split("*", 1)[0].lower()
        for codec in _codecs_for(label):
            try:
                return data.decode(codec)
            except UnicodeError:
                continue
    if b"\x1b" in data:
        return _japanese(data)
    for codec in ("utf-8", "cp1252"):
        try:
            return data.decode(codec)
        except UnicodeError:
            continue
    return data.decode("latin-1")


def _codecs_for(label: str) -> list[str]:
    aliases = {
        "iso-8859-1": "cp1252",
        "latin1": "cp1252",
        "gb2312": "gb18030",
        "gbk": "gb18030",
        "iso-8859-8-i": "iso-8859-8",  # logical order: the same bytes
    }
    label = aliases.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return []
    return [] if name.startswith("iso2022_jp") else [name]


_ISO2022_SWITCH = re.compile(rb"(\x1b(?:\$[@B]|\([BJI]))")


def _japanese(data: bytes) -> str:
    """ISO-2022-JP (any flavour) -> EUC, read as EUC-JIS-2004.

    JIS X 0213 row 13 holds the NEC extensions Outlook writes in "ISO-2022-JP" (circled
    numbers, numero sign), so this reads what Python's ISO-2022-JP codecs refuse.
    """
    euc = bytearray()
    mode = b"\x1b(B"
    for piece in _ISO2022_SWITCH.split(data):
        if _ISO2022_SWITCH.fullmatch(piece):
            mode = piece
        elif mode in (b"\x1b$@", b"\x1b$B"):
            euc += bytes(byte | 0x80 for byte in piece)
        elif mode == b"\x1b(I":
            for byte in piece:
                euc += bytes((0x8E, byte | 0x80))
        else:
            euc += piece
    return bytes(euc).decode("euc_jis_2004", errors="replace")
