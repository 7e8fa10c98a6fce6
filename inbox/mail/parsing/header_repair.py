"""A damaged header block rewritten the way a lenient reader reads it.

The standard library stops reading headers at the first line that is not one, and calls all
the rest the body: one broken `Received` line hides the Subject, From and Date below it, and
obsolete syntax (`To    : x`, RFC 5322 section 4.5) or a byte-order mark before the first
header makes a readable message "not an email". This module is only called when the cheap
reading reported such a defect, so well-formed mail pays nothing for it.

The raw bytes stored for the message are never changed; only the copy that is parsed is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inbox.mail.parsing.problems import (
    BYTE_ORDER_MARK,
    LEADING_BLANK_LINES,
    NO_BLANK_LINE,
    OBSOLETE_HEADER_SYNTAX,
    SKIPPED_HEADER_LINES,
    UNINDENTED_FOLD,
)

_BOM = b"\xef\xbb\xbf"
# A field name is printable ASCII without the colon; obsolete syntax allows blanks before it.
_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)([ \t]*):")
# Names that show the header block goes on after a broken line, where a body would not start
# a line with them by chance: the usual fields, and hyphenated names (X-..., DKIM-Signature).
_KNOWN_FIELDS = re.compile(
    rb"(?i:from|to|cc|bcc|subject|date|sender|received|references)"
    rb"|[\x21-\x39\x3b-\x7e]*-[\x21-\x39\x3b-\x7e]*"
)
_MAX_HEADER_BYTES = 1024 * 1024  # past this, whatever follows is left as it is
_MAX_HEADER_LINES = 20_000
_MAX_LEADING_LINES = 3  # stray lines before the first header (an export's banner, blanks)


@dataclass(frozen=True)
class HeaderRepair:
    raw: bytes  # the message with its header block rewritten, the body untouched
    notes: tuple[str, ...]  # problem templates saying what was repaired


def repair_header_block(raw: bytes) -> HeaderRepair | None:
    """The message with a readable header block, or None when there is nothing to repair.

    Up to the first blank line: a line that is not a header is a fold that lost its
    indentation (mailers do that to long Received, DKIM and Subject lines) when a known
    field follows it or the line before left an address open ("<a@b." / "c>"), and the
    first line of the text (the blank line was forgotten) otherwise. Blank lines and stray
    lines before the first header are stepped over; `Name   :` is read as `Name:`.
    """
    notes: list[str] = []
    start = 0
    if raw.startswith(_BOM):
        start = len(_BOM)
        notes.append(BYTE_ORDER_MARK)
    # What is not mail (a document, random bytes, prose) stays not mail: the headers must
    # start within the first lines, and with a field a person knows, after any stray line.
    head = [_FIELD.match(line) for line in _header_lines(raw, start, _MAX_LEADING_LINES + 1)]
    first = next((index for index, field in enumerate(head) if field is not None), None)
    if first is None or (first and not _KNOWN_FIELDS.fullmatch(head[first][1])):
        return None
    lines = _header_lines(raw, start, _MAX_HEADER_LINES)
    fields = [_FIELD.match(line) for line in lines]
    last_known = max(
        (i for i, field in enumerate(fields) if field and _KNOWN_FIELDS.fullmatch(field[1])),
        default=-1,
    )
    kept: list[bytes] = []
    body_start: int | None = None
    for index, (line, field) in enumerate(zip(lines, fields, strict=True)):
        folded = line[:1] in (b" ", b"\t")
        if folded and kept:
            kept.append(line)
        elif folded or (field is None and not kept):
            notes.append(LEADING_BLANK_LINES if not line.strip() else SKIPPED_HEADER_LINES)
        elif field is not None:
            if field[2]:  # "To    : x"
                line = field[1] + line[field.end() - 1 :]
                notes.append(OBSOLETE_HEADER_SYNTAX)
            kept.append(line)
        elif kept[-1].count(b"<") > kept[-1].count(b">"):
            # Cut inside an address or a Message-ID: join it back without a space.
            kept[-1] = kept[-1].rstrip(b"\r\n") + line
            notes.append(UNINDENTED_FOLD)
        elif index < last_known:
            kept.append(b" " + line)
            notes.append(UNINDENTED_FOLD)
        else:
            body_start = index
            notes.append(NO_BLANK_LINE)
            break
    if not kept or not notes:
        return None
    rest = raw[start + sum(len(line) for line in lines[:body_start]) :]
    if body_start is not None:
        rest = _line_ending(kept[-1]) + rest
    return HeaderRepair(raw=b"".join(kept) + rest, notes=tuple(dict.fromkeys(notes)))


def _header_lines(raw: bytes, start: int, most: int) -> list[bytes]:
    """The header block's lines with their line endings, up to (not including) a blank line."""
    lines: list[bytes] = []
    position = start
    while position < len(raw) and position - start < _MAX_HEADER_BYTES and len(lines) < most:
        end = raw.find(b"\n", position)
        end = len(raw) if end == -1 else end + 1
        line = raw[position:end]
        if line in (b"\n", b"\r\n"):
            break
        lines.append(line)
        position = end
    return lines


def _line_ending(line: bytes) -> bytes:
    return b"\r\n" if line.endswith(b"\r\n") else b"\n"
