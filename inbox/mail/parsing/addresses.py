"""Address headers -> `Address`es: lenient list splitting, then strict validation."""

from __future__ import annotations

import inspect
import re
from email.utils import parseaddr

from inbox.mail.parsing.header_text import decode_8bit_header, decode_words
from inbox.mail.parsing.message import Address
from inbox.mail.parsing.problems import Problems

_VALID_ADDRESS = re.compile(r"^[^@\s<>()\[\]\",;:\\]+@[^@\s<>()\[\]\",;:\\]+$")
# Python >= 3.12.6/3.13 parse addresses strictly by default and return ('', '') for any
# oddity; we want the lenient reading and do our own validation.
PARSEADDR_OPTIONS = {"strict": False} if "strict" in inspect.signature(parseaddr).parameters else {}


# The shapes nearly every address has — "a@b.fr" and "Name <a@b.fr>" with no quotes,
# comments or specials — read without the standard library's character-by-character parser
# (tests/test_parsing.py checks both readings agree on every string this matches).
_ATOMS = r"[^\s\"()<>@,;:\\\[\]]+@[^\s\"()<>@,;:\\\[\]]+"
SIMPLE_ADDRESS = re.compile(rf"(?:([^\"()<>@,;:\\\[\]]*)<({_ATOMS})>|({_ATOMS}))")


def parse_address(chunk: str) -> tuple[str, str]:
    simple = SIMPLE_ADDRESS.fullmatch(chunk)
    if simple is None:
        return parseaddr(chunk, **PARSEADDR_OPTIONS)
    display, bracketed, bare = simple.groups()
    return (" ".join(display.split()), bracketed) if bare is None else ("", bare)


def read_address(chunk: str, header: str, problems: Problems) -> Address | None:
    display, address = parse_address(chunk)
    address = decode_8bit_header(address.strip().strip("<>"))
    if not _VALID_ADDRESS.match(address):
        return None
    # The list was unfolded before it was split; 8-bit bytes in words are repaired here.
    display_name = decode_words(display, header, problems).strip() if display else ""
    return Address(display_name, address.lower())


def split_address_list(value: str) -> list[str]:
    """Split an address header on top-level commas/semicolons, tolerating broken quoting.

    Groups ("team: a@x, b@x;") are flattened. An unbalanced quote or parenthesis is
    treated as a plain character, so one broken entry cannot swallow the rest.
    """
    if not NEEDS_CAREFUL_SPLIT.search(value):  # no quoting, comment or group: plain commas
        return [chunk.strip() for chunk in _LIST_SEPARATOR.split(value) if chunk.strip()]
    literal: set[int] = set()
    for _ in range(_MAX_QUOTE_REPAIRS):
        chunks, unbalanced_at = split_top_level(value, literal)
        if unbalanced_at is None:
            break
        literal.add(unbalanced_at)
    else:  # hostile quoting: stop repairing (that would be quadratic) and ignore it all
        chunks, _ = split_top_level(value, literal, ignore_quoting=True)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


NEEDS_CAREFUL_SPLIT = re.compile(r'["()\\:]')
_LIST_SEPARATOR = re.compile(r"[,;]")
_MAX_QUOTE_REPAIRS = 4  # real mail has one or two stray quotes, not hundreds


def split_top_level(
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
