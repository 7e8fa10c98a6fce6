"""A `Part` tree -> body texts (plain and HTML) and attachments, with safe filenames."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import replace
from urllib.parse import unquote

from inbox.mail.parsing.charsets import decode_text
from inbox.mail.parsing.header_text import decode_8bit_header, decode_encoded_words, unfold
from inbox.mail.parsing.headers import RawHeaders, parse_header_block
from inbox.mail.parsing.message import Attachment
from inbox.mail.parsing.problems import IN_HTML, IN_TEXT, TOO_DEEP, Problems
from inbox.mail.parsing.structure import MAX_DEPTH, Part

_BODY_TYPES = ("text/plain", "text/html")
_IGNORED_TYPES = ("text/x-amp-html",)  # Gmail AMP: an alternative nobody should render


class Body:
    """Walks a `Part` tree into body texts and attachment parts."""

    def __init__(self, problems: Problems) -> None:
        self._problems = problems
        self._texts: list[str] = []
        self._htmls: list[str] = []
        self._attachment_parts: list[Part] = []

    @property
    def text(self) -> str:
        return "\n\n".join(self._texts)

    @property
    def html(self) -> str:
        return "\n".join(self._htmls)

    def collect(self, part: Part, raw: bytes, depth: int = 0) -> None:
        if depth >= MAX_DEPTH:
            self._problems.add(TOO_DEEP)
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

    def attachments(self, html: str) -> tuple[Attachment, ...]:
        """The attachment parts; one the HTML shows through a `cid:` URL is inline."""
        # Scanning the HTML costs as much as the rest of the body: only when a part has an id.
        has_ids = any(part.content_id is not None for part in self._attachment_parts)
        referenced_cids = _referenced_cids(html) if has_ids else set()
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
    def _is_body(part: Part) -> bool:
        return (
            part.content_type in _BODY_TYPES
            and part.disposition != "attachment"
            and not part.filename
        )

    def _add_body(self, part: Part) -> None:
        is_html = part.content_type == "text/html"
        charset = part.charset or (_meta_charset(part.payload) if is_html else None)
        where = IN_HTML if is_html else IN_TEXT
        # One line ending everywhere: CRLF from the wire, LF from files.
        text = decode_text(part.payload, charset, self._problems, where).replace("\r\n", "\n")
        (self._htmls if is_html else self._texts).append(text)

    def _check_closed(self, part: Part, raw: bytes) -> None:
        # The fast parser accepts a missing final boundary silently; the stdlib reports it
        # as a defect. Checking the raw bytes is a memchr-speed search.
        if part.boundary and b"--" + part.boundary.encode("utf-8", "replace") + b"--" not in raw:
            self._problems.add_defect("CloseBoundaryNotFoundDefect")


def _attachment_filename(part: Part, index: int) -> str:
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
    subject = RawHeaders(parse_header_block(payload, Problems())).first("Subject")
    return decode_encoded_words(decode_8bit_header(unfold(subject)))[0]


_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:-]+)", re.IGNORECASE)


def _meta_charset(payload: bytes) -> str | None:
    match = _META_CHARSET.search(payload[:4096])
    return match.group(1).decode("ascii") if match else None


_CID_REFERENCE = re.compile(r"""cid:([^"'\s)>]+)""", re.IGNORECASE)


def _referenced_cids(html: str) -> set[str]:
    return {unquote(match).strip("<>") for match in _CID_REFERENCE.findall(html)}
