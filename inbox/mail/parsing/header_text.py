"""Header values -> text: unfolding, 8-bit bytes repaired, RFC 2047 encoded words decoded."""

from __future__ import annotations

import binascii
import re

from inbox.mail.parsing.charsets import LATIN1, decode_iso2022_jp, is_cp1252, resolve_charset
from inbox.mail.parsing.problems import BAD_ENCODED_WORDS, Problems


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def decode_header_value(value: str, name: str, problems: Problems) -> str:
    """Unfold, decode RFC 2047 words, repair 8-bit bytes (inside words too)."""
    return decode_words(unfold(value), name, problems)


def decode_words(text: str, name: str, problems: Problems) -> str:
    decoded, clean = decode_encoded_words(text)
    if not clean:
        problems.add(BAD_ENCODED_WORDS, name=name)
    return decoded


_SURROGATE_ESCAPE = re.compile("[\udc80-\udcff]")


def decode_8bit_header(value: str) -> str:
    # compat32 keeps raw non-ASCII header bytes as surrogate escapes; most are UTF-8.
    if value.isascii():
        return _decode_iso2022(value) if "\x1b" in value else value
    if not _SURROGATE_ESCAPE.search(value):
        return value
    return _decode_guessing_western(value.encode("utf-8", "surrogateescape"))


def _decode_iso2022(value: str) -> str:
    # Japanese mailers send ISO-2022-JP unencoded: 7-bit bytes switched by escape sequences.
    decoded = decode_iso2022_jp(value.encode("ascii"))
    return value if decoded is None else decoded


# --- RFC 2047 encoded words --------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_ENCODED_WORD_START = re.compile(r"=\?[^?\s]+\?[bBqQ]\?")


def decode_encoded_words(text: str) -> tuple[str, bool]:
    """Decode RFC 2047 words leniently. Returns (text, clean) - clean is False on repairs.

    Adjacent words in the same charset are joined as bytes before decoding, because
    mailers split multi-byte characters across words; whitespace between words is dropped.
    """
    if "=?" not in text:
        return decode_8bit_header(text), True
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    clean = True
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = decode_8bit_header(text[position : match.start()])
        charset = match.group(1).split("*", 1)[0].lower()  # drop an RFC 2231 language tag
        data = _decode_word_payload(match.group(2), match.group(3), charset)
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
    out.append(decode_8bit_header(text[position:]))
    decoded = "".join(out)
    # A word left undecoded (unterminated, say) is a repair the reader should know about.
    return decoded, clean and _ENCODED_WORD_START.search(decoded) is None


def _decode_word_payload(encoding: str, data: str, charset: str) -> bytes | None:
    try:
        if encoding in "bB":
            padded = data.strip() + "=" * (-len(data.strip()) % 4)
            return binascii.a2b_base64(padded.encode("ascii"))
        return binascii.a2b_qp(_word_bytes(data, charset), header=True)
    except (binascii.Error, ValueError):
        return None


def _word_bytes(data: str, charset: str) -> bytes:
    """A Q word's text as the bytes that were sent.

    Mailers put raw 8-bit bytes inside Q words ("Fr\xf6sche" in an ISO-8859-1 word): they
    arrive as surrogate escapes and are the declared charset's bytes. Text already decoded
    (a filename from the fast parser) is encoded back in that charset when it can be.
    """
    if data.isascii():
        return data.encode("ascii")
    try:
        return data.encode(resolve_charset(charset) or "utf-8", "surrogateescape")
    except (UnicodeError, LookupError):
        return data.encode("utf-8", "surrogateescape")


def _decode_header_bytes(data: bytes, charset: str) -> tuple[str, bool]:
    codec = resolve_charset(charset)
    if codec == LATIN1 and is_cp1252(data):
        codec = "cp1252"  # as for bodies: senders labelling Latin-1 mean Windows-1252
    if codec is not None and codec.startswith("iso2022_jp"):
        # Labelled ISO-2022-JP, written as ISO-2022-JP-2 or Microsoft's variant.
        decoded = decode_iso2022_jp(data)
        if decoded is not None:
            return decoded, True
    elif codec is not None:
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
