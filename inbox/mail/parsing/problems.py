"""The parse problems a message collects on its way through the parser, and their wording.

A problem is stored as an English sentence (sealed with the envelope, and counted in clear on
the sync-health pages), built from one of the templates below. `describe_problems` turns
stored sentences back into the reader's language: each is matched against the templates, the
template is translated, and its parameters are put back (a header name, a charset label, an
exception class: never message content; "where" is itself a phrase and is translated too).
The templates are never reworded without keeping the old wording here: messages stored
under it must still be described.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import errors as email_errors
from functools import cache

from django.utils.translation import gettext


def gettext_noop(message: str) -> str:
    """Marks a template for makemessages; Django's own needs settings, parsing does not."""
    return message


# --- where in the message ------------------------------------------------------------------

IN_HEADERS = gettext_noop("the headers")
IN_TEXT = gettext_noop("the message text")
IN_HTML = gettext_noop("the HTML text")
IN_ATTACHMENT = gettext_noop("an attachment")
IN_MESSAGE = gettext_noop("the message")
_PLACES = (IN_HEADERS, IN_TEXT, IN_HTML, IN_ATTACHMENT, IN_MESSAGE)

# --- the problems --------------------------------------------------------------------------

UNREADABLE = gettext_noop("The message could not be read ({error}).")
NOT_AN_EMAIL = gettext_noop("This is not an email message: no header could be read.")
TOO_LARGE = gettext_noop("The message is too large to be read; only its headers were.")
TOO_DEEP = gettext_noop("The MIME structure is nested too deeply; inner parts were skipped.")
DUPLICATE_HEADER = gettext_noop("The {name} header appears several times; the first one was used.")
NO_MESSAGE_ID = gettext_noop("The message has no Message-ID.")
NO_DATE = gettext_noop("The message has no Date header.")
BAD_DATE = gettext_noop("The Date header could not be read.")
BAD_ADDRESSES = gettext_noop(
    "Some addresses in the {name} header could not be read and were skipped."
)
BAD_ENCODED_WORDS = gettext_noop(
    "The {name} header has encoded text that could not be fully decoded."
)
ASCII_LABEL_8BIT = gettext_noop(
    "8-bit text in {where} is labelled us-ascii; its encoding was guessed."
)
INVALID_IN_CHARSET = gettext_noop("Text in {where} is not valid {label}; its encoding was guessed.")
UNKNOWN_CHARSET = gettext_noop("Unknown character set '{label}' in {where}; it was guessed.")
NO_CHARSET = gettext_noop("No character set declared for 8-bit text in {where}; it was guessed.")
# Repairs of the header block (inbox/mail/parsing/header_repair.py).
SKIPPED_HEADER_LINES = gettext_noop(
    "A line before the first header is not a header; it was skipped."
)
UNINDENTED_FOLD = gettext_noop(
    "A line among the headers is not a header; it was read as the continuation of the one"
    " before it."
)
NO_BLANK_LINE = gettext_noop(
    "No blank line separates the headers from the text; the text starts at the first line"
    " that is not a header."
)
OBSOLETE_HEADER_SYNTAX = gettext_noop(
    "A header name is followed by spaces before its colon (obsolete syntax); it was read."
)
BYTE_ORDER_MARK = gettext_noop("The message starts with a byte-order mark; it was ignored.")
LEADING_BLANK_LINES = gettext_noop("The message starts with blank lines; they were ignored.")

_MIME_DEFECT = gettext_noop("The MIME structure has a defect ({name}).")
_DEFECTS = {
    "CloseBoundaryNotFoundDefect": gettext_noop(
        "A multipart section is not closed (missing final boundary); the message may be truncated."
    ),
    "StartBoundaryNotFoundDefect": gettext_noop(
        "A multipart section has no starting boundary; its parts could not be separated."
    ),
    "NoBoundaryInMultipartDefect": gettext_noop(
        "A multipart section declares no boundary; its parts could not be separated."
    ),
    "MultipartInvariantViolationDefect": gettext_noop("The MIME structure is inconsistent."),
    "MissingHeaderBodySeparatorDefect": gettext_noop(
        "A header line could not be read; what follows it was treated as the body."
    ),
    "FirstHeaderLineIsContinuationDefect": gettext_noop(
        "The header block starts with a folded line."
    ),
    "MisplacedEnvelopeHeaderDefect": gettext_noop(
        "An envelope 'From ' line appears among the headers."
    ),
    "InvalidBase64PaddingDefect": gettext_noop(
        "Base64 content in {where} is damaged (bad padding)."
    ),
    "InvalidBase64CharactersDefect": gettext_noop(
        "Base64 content in {where} contains invalid characters."
    ),
    "InvalidBase64LengthDefect": gettext_noop(
        "Base64 content in {where} is truncated; only part of it could be recovered."
    ),
}

# Recorded for diagnostics (sync health, support) but not damage an agent needs to hear of:
# the message reads as the sender meant it. The date shown is then the date it arrived.
_NOT_FOR_AGENTS = frozenset(
    {
        NO_MESSAGE_ID,
        NO_DATE,
        BAD_DATE,
        NO_BLANK_LINE,
        UNINDENTED_FOLD,
        OBSOLETE_HEADER_SYNTAX,
        BYTE_ORDER_MARK,
        LEADING_BLANK_LINES,
        _DEFECTS["FirstHeaderLineIsContinuationDefect"],
    }
)
_UNKNOWN = gettext_noop("Part of the message is malformed.")

TEMPLATES = (
    UNREADABLE,
    NOT_AN_EMAIL,
    TOO_LARGE,
    TOO_DEEP,
    DUPLICATE_HEADER,
    NO_MESSAGE_ID,
    NO_DATE,
    BAD_DATE,
    BAD_ADDRESSES,
    BAD_ENCODED_WORDS,
    ASCII_LABEL_8BIT,
    INVALID_IN_CHARSET,
    UNKNOWN_CHARSET,
    NO_CHARSET,
    SKIPPED_HEADER_LINES,
    NO_BLANK_LINE,
    UNINDENTED_FOLD,
    OBSOLETE_HEADER_SYNTAX,
    BYTE_ORDER_MARK,
    LEADING_BLANK_LINES,
    _MIME_DEFECT,
    *_DEFECTS.values(),
)


class Problems:
    """Human-readable, content-free parse problems, each reported once, in order."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, template: str, **params: str) -> None:
        """`template` is one of this module's; `params` never carry message content."""
        self._items.setdefault(template.format(**params) if params else template, None)

    def add_defects(self, defects: Iterable[email_errors.MessageDefect], where: str) -> None:
        for defect in defects:
            self.add_defect(type(defect).__name__, where)

    def add_defect(self, name: str, where: str = IN_MESSAGE) -> None:
        template = _DEFECTS.get(name)
        if template is None:
            self.add(_MIME_DEFECT, name=name)
        elif "{where}" in template:
            self.add(template, where=where)
        else:
            self.add(template)

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._items)


def describe_problems(stored: Iterable[str], *, for_agents: bool = True) -> list[str]:
    """Stored problems in the active language; for agents, without diagnostic-only ones.

    A sentence no template matches (a wording older than this module) is described by a
    general sentence rather than shown in English.
    """
    described: list[str] = []
    for problem in stored:
        template, params = _match(problem)
        if for_agents and template in _NOT_FOR_AGENTS:
            continue
        if template is None:
            sentence = gettext(_UNKNOWN)
        else:
            if "where" in params:
                params["where"] = gettext(params["where"])
            sentence = gettext(template).format(**params)
        if sentence not in described:
            described.append(sentence)
    return described


def _match(problem: str) -> tuple[str | None, dict[str, str]]:
    for template, pattern in _patterns():
        match = pattern.fullmatch(problem)
        if match:
            return template, match.groupdict()
    return None, {}


_PARAMETER_PATTERNS = {
    "where": "|".join(re.escape(place) for place in _PLACES),
    "name": r"[A-Za-z0-9-]{1,80}",
    "label": r"[A-Za-z0-9._:+?-]{1,40}",
    "error": r"[A-Za-z0-9_]{1,80}",
}


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    compiled = []
    for template in TEMPLATES:
        pattern = re.escape(template)
        for name, value in _PARAMETER_PATTERNS.items():
            pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{value})")
        compiled.append((template, re.compile(pattern)))
    return tuple(compiled)
