"""Body bytes -> text: MIME charset labels, the alias table for real-world labels, detection."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes as detect_charset

from inbox.mail.parsing.problems import (
    ASCII_LABEL_8BIT,
    INVALID_IN_CHARSET,
    NO_CHARSET,
    UNKNOWN_CHARSET,
    Problems,
)

LATIN1 = "iso8859-1"  # codecs.lookup("iso-8859-1").name
# Encodings that spell non-ASCII text with ASCII bytes (Japanese mail uses ISO-2022-JP).
_SEVEN_BIT_ENCODINGS = ("iso2022", "utf-7", "utf-16", "utf-32", "hz")

# Labels seen in real mail that Python does not know, or knows under another meaning.
# None means "this label says nothing": detect instead.
_CHARSET_ALIASES: dict[str, str | None] = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "latin-1": LATIN1,
    "latin1": LATIN1,
    "iso8859-1": LATIN1,
    "iso-8859-1": LATIN1,
    "iso_8859-1": LATIN1,
    "iso-latin-1": LATIN1,
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


def resolve_charset(label: str | None) -> str | None:
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


def decode_text(data: bytes, label: str | None, problems: Problems, where: str) -> str:
    """Body bytes -> str: declared charset, else alias table, else detection. Never raises."""
    codec = resolve_charset(label)
    if data.isascii() and not (codec or "").startswith(_SEVEN_BIT_ENCODINGS):
        return data.decode("ascii")  # every other charset agrees on ASCII bytes
    if codec == "ascii":
        problems.add(ASCII_LABEL_8BIT, where=where)
    elif codec is not None:
        if codec == LATIN1 and is_cp1252(data):
            codec = "cp1252"  # like browsers: senders labelling Latin-1 mean Windows-1252
        try:
            return data.decode(codec)
        except UnicodeError:
            decoded = decode_iso2022_jp(data) if codec.startswith("iso2022_jp") else None
            if decoded is not None:
                return decoded
            problems.add(INVALID_IN_CHARSET, where=where, label=_short(label))
    elif label:
        problems.add(UNKNOWN_CHARSET, where=where, label=_short(label))
    else:
        problems.add(NO_CHARSET, where=where)
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


def is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeError:
        return False
    return True


# --- ISO-2022-JP as Microsoft writes it (CP50220/CP50221) ------------------------------------

_ISO2022_JP_FAMILY = ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3")
_ISO2022_SWITCH = re.compile(rb"\x1b(\$[@B]|\$\(D|\([BJI])")


def decode_iso2022_jp(data: bytes) -> str | None:
    """ISO-2022-JP text, or None. Tries Python's codecs, then Microsoft's variant.

    Outlook and Japanese webmails label as ISO-2022-JP text that uses the NEC and IBM
    extensions (circled numbers, "№", Roman numerals), which no Python codec reads: the JIS
    rows are moved to Shift_JIS positions and read as CP932, which has them.
    """
    for codec in _ISO2022_JP_FAMILY:
        try:
            return data.decode(codec)
        except UnicodeError:
            continue
    sjis = bytearray()
    mode = b"(B"
    position = 0
    for switch in _ISO2022_SWITCH.finditer(data):
        _jis_to_sjis(data[position : switch.start()], mode, sjis)
        mode, position = switch.group(1), switch.end()
    _jis_to_sjis(data[position:], mode, sjis)
    try:
        return bytes(sjis).decode("cp932")
    except UnicodeError:
        return None


def _jis_to_sjis(chunk: bytes, mode: bytes, out: bytearray) -> None:
    if mode == b"(I":  # half-width katakana
        out += bytes(byte | 0x80 if 0x21 <= byte <= 0x5F else byte for byte in chunk)
    elif mode in (b"$@", b"$B"):
        for index in range(0, len(chunk) - 1, 2):
            first, second = chunk[index], chunk[index + 1]
            if not (0x21 <= first <= 0x7E and 0x21 <= second <= 0x7E):
                out += b"\xff"  # invalid: makes the CP932 reading fail
                continue
            out.append((first + 1) // 2 + (0x70 if first <= 0x5E else 0xB0))
            if first % 2:
                out.append(second + 0x1F + (second >= 0x60))
            else:
                out.append(second + 0x7E)
    elif mode == b"$(D":
        out += b"\xff"  # JIS X 0212 has no CP932 position
    else:
        out += chunk
