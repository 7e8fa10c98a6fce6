"""The composer's rich text: what the editor sends is sanitised here before it is stored or sent,
its images become `cid:` parts, and the text alternative is derived here (never trusted from the
browser).

* `clean_composed_html`: nh3 with a small allowlist (paragraphs, bold, italic, underline,
  strike, lists, links, quotes, code, images); what Word and Google Docs add when pasting
  (classes, styles, `<o:p>`, conditional comments, the Docs wrapper that would make a whole paste
  bold) goes. Links keep http(s) and mailto only; images keep `cid:` and, on their way in,
  `data:image/…` (turned into parts by `extract_inline_images`).
* `html_to_text`: a faithful plain-text alternative: paragraphs, line breaks, "- " and "1. "
  lists, "> " quotes, links as "text <url>", *bold*.
* `html_message`: the HTML part: the body, the signature and the quoted original (escaped).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html as html_lib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

MAX_HTML_CHARS = 2_000_000  # the editor's HTML, images excluded once extracted
MAX_INLINE_IMAGE_BYTES = 5 * 1024 * 1024

_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "strike", "ul", "ol", "li", "a",
    "blockquote", "pre", "code", "img", "h1", "h2", "h3", "div", "span",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt", "width", "height"}, "ol": {"start"}}
_DROPPED_WITH_CONTENT = {
    "script", "style", "title", "head", "noscript", "template", "iframe", "object", "embed",
    "svg", "math", "textarea", "select", "xml",
}  # fmt: skip
_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_DATA_IMAGE = re.compile(r"^data:(image/[a-z+.-]+);base64,([A-Za-z0-9+/=\s]+)$", re.I)
# Google Docs wraps a whole paste in <b style="font-weight:normal" id="docs-internal-guid-…">.
_DOCS_WRAPPER = re.compile(r'<b\b[^>]*id="docs-internal-guid-[^"]*"[^>]*>', re.I)
_WORD_TAGS = re.compile(r"</?o:p\s*/?>", re.I)
_LIST_MARKER = re.compile(r"^(?:> )*\s*(?:-|\d+\.) $")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    value = value.strip()
    if tag == "a" and attribute == "href":
        return value if re.match(r"^(https?:|mailto:)", value, re.I) else None
    if tag == "img" and attribute == "src":
        match = _DATA_IMAGE.match(value)
        if match and match.group(1).lower() in _IMAGE_TYPES:
            return value
        return value if re.match(r"^cid:[A-Za-z0-9@._-]+$", value) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    clean_content_tags=_DROPPED_WITH_CONTENT,
    attribute_filter=_keep_attribute,
    url_schemes={"http", "https", "mailto", "cid", "data"},
    url_relative="deny",
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def clean_composed_html(html: str) -> str:
    """The editor's HTML, safe to store, show and send."""
    html = (html or "")[: MAX_HTML_CHARS + MAX_INLINE_IMAGE_BYTES * 2]
    html = _WORD_TAGS.sub("", _DOCS_WRAPPER.sub("<span>", html))
    cleaned = _CLEANER.clean(html)
    # An image without a source left (a tracker, a file path from Word) is no image at all.
    return re.sub(r"<img(?![^>]*\bsrc=)[^>]*>", "", cleaned)


def is_empty(html: str) -> bool:
    return not html_to_text(html).strip() and "<img" not in (html or "")


@dataclass(frozen=True)
class InlineImage:
    token: str  # sha256 prefix of the bytes: the same image pasted twice is one part
    content_type: str
    data: bytes


def extract_inline_images(html: str) -> tuple[str, list[InlineImage]]:
    """`data:image/…` sources replaced by `cid:<token>@trupeo`; the images returned once each.
    An image too large or not decodable is dropped (its `<img>` goes)."""
    images: dict[str, InlineImage] = {}

    def replace(match: re.Match) -> str:
        found = _DATA_IMAGE.match(html_lib.unescape(match.group(2)))
        if not found:
            return match.group(0)
        try:
            data = base64.b64decode(found.group(2), validate=False)
        except (binascii.Error, ValueError):
            return ""
        if not data or len(data) > MAX_INLINE_IMAGE_BYTES:
            return ""
        token = hashlib.sha256(data).hexdigest()[:24]
        images.setdefault(token, InlineImage(token, found.group(1).lower(), data))
        return f'{match.group(1)}"cid:{token}@trupeo"'

    rewritten = re.sub(r'(<img\b[^>]*?\bsrc=)"(data:[^"]*)"', replace, html)
    rewritten = re.sub(r"<img(?![^>]*\bsrc=)[^>]*>", "", rewritten)
    return rewritten, list(images.values())


def cid_tokens(html: str) -> set[str]:
    return set(re.findall(r'src="cid:([0-9a-f]{24})@trupeo"', html or ""))


def with_data_images(html: str, images: dict[str, tuple[str, bytes]]) -> str:
    """For the editor: `cid:` sources back to `data:` (CSP allows data: images; nothing else)."""

    def replace(match: re.Match) -> str:
        found = images.get(match.group(1))
        if found is None:
            return match.group(0)
        content_type, data = found
        return f'src="data:{content_type};base64,{base64.b64encode(data).decode()}"'

    return re.sub(r'src="cid:([0-9a-f]{24})@trupeo"', replace, html or "")


# --- the text alternative ---------------------------------------------------------------------


class _Text(HTMLParser):
    # The editor writes every line as a <p> (Enter is a new line, Enter twice a blank one), as
    # Gmail writes <div>s: one line each in the text, not a paragraph.
    _LINES = {"p", "div"}
    _BLOCKS = {"h1", "h2", "h3", "pre", "ul", "ol", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote = 0
        self.lists: list[list] = []  # [kind, counter]
        self.links: list[str | None] = []
        self.pre = 0

    def _prefix(self) -> str:
        return "> " * self.quote

    def _break(self, blank: bool = False) -> None:
        if self.lines[-1].strip(" >"):
            self.lines.append(self._prefix())
        elif self.lines[-1] != self._prefix():
            self.lines[-1] = self._prefix()
        if blank and len(self.lines) > 1 and self.lines[-2].strip(" >"):
            self.lines.insert(-1, self._prefix().rstrip())

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = dict(attrs)
        if tag == "br":
            self.lines.append(self._prefix())
        elif tag == "blockquote":
            self._break(blank=True)
            self.quote += 1
            self.lines[-1] = self._prefix()
        elif tag in ("ul", "ol"):
            self._break(blank=not self.lists)
            self.lists.append([tag, int(attributes.get("start") or 1) - 1])
        elif tag == "li":
            self._break()
            depth = max(len(self.lists) - 1, 0)
            marker = "- "
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                marker = f"{self.lists[-1][1]}. "
            self.lines[-1] += "  " * depth + marker
        elif tag in self._LINES:
            if not _LIST_MARKER.match(self.lines[-1]):  # a paragraph inside an item: same line
                self._break()
        elif tag in self._BLOCKS:
            self._break(blank=True)
            self.pre += tag == "pre"
        elif tag in ("strong", "b"):
            self.lines[-1] += "*"
        elif tag == "a":
            self.links.append(attributes.get("href"))
        elif tag == "img":
            alt = (attributes.get("alt") or "").strip()
            self.lines[-1] += f"[{alt or 'image'}]"

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote":
            while len(self.lines) > 1 and not self.lines[-1].strip(" >"):
                self.lines.pop()  # the quote's own trailing blank lines
            self.quote = max(self.quote - 1, 0)
            self.lines.append(self._prefix())
            self._break(blank=True)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(blank=not self.lists)
        elif tag in self._LINES:
            if self.lines[-1].strip(" >"):
                self._break()
            elif not self.lists:  # an empty line typed on purpose
                self.lines.append(self._prefix())
        elif tag in self._BLOCKS:
            self.pre -= tag == "pre" and self.pre > 0
            self._break(blank=not self.lists)
        elif tag in ("strong", "b"):
            self.lines[-1] += "*"
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not self.lines[-1].rstrip().endswith(href.removeprefix("mailto:")):
                self.lines[-1] += f" <{href.removeprefix('mailto:')}>"

    def handle_data(self, data: str) -> None:
        if self.pre:
            parts = data.split("\n")
            self.lines[-1] += parts[0]
            for part in parts[1:]:
                self.lines.append(self._prefix() + part)
            return
        text = re.sub(r"\s+", " ", data)
        if self.lines[-1].strip(" >") == "" or self.lines[-1].endswith((" ", "- ", ". ")):
            text = text.lstrip()
        self.lines[-1] += text


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    lines = [line.rstrip() for line in parser.lines]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text).replace("**", "")


def text_to_html(text: str) -> str:
    """Plain text (a signature, a quoted original) as safe HTML, a <p> per line as the editor
    writes it."""
    lines = (text or "").replace("\r\n", "\n").strip("\n").split("\n")
    return "".join(
        f"<p>{html_lib.escape(line)}</p>" if line.strip() else "<p><br></p>" for line in lines
    )


_HTML_SIGNATURE = re.compile(r"<(?:p|br|div|b|strong|i|em|a|span|table|ul|ol)\b", re.I)


def is_html_signature(signature: str) -> bool:
    """A signature written in HTML (pasted from a mail client's settings), not plain text."""
    return bool(_HTML_SIGNATURE.search(signature or ""))


def signature_text(signature: str) -> str:
    """The signature for the plain-text part (and the composer's preview)."""
    if is_html_signature(signature):
        return html_to_text(clean_composed_html(signature))
    return (signature or "").strip("\n")


def signature_html(signature: str) -> str:
    if is_html_signature(signature):
        return clean_composed_html(signature)
    return text_to_html(signature)


def html_message(
    *, body_html: str, signature: str = "", quote_header: str = "", quoted_text: str = ""
) -> str:
    """The HTML part: the body, then the signature, then the quoted original (or forwarded
    block), the plain texts escaped."""
    parts = [body_html]
    if signature.strip():
        parts.append(
            '<div class="signature">-- <br>' + signature_html(signature.strip()) + "</div>"
        )
    if quoted_text:
        header = f"<p>{html_lib.escape(quote_header)}</p>" if quote_header else ""
        parts.append(
            f'{header}<blockquote type="cite">{text_to_html(quoted_text)}</blockquote>'
            if quote_header
            else f"<div>{text_to_html(quoted_text)}</div>"
        )
    return (
        # Lines as the editor shows them (its <p> are lines, not spaced paragraphs).
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{margin:0}</style></head><body>'
        + "\n".join(parts)
        + "</body></html>"
    )
