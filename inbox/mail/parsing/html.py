"""HTML bodies: sanitised with nh3 for display, and turned into readable plain text."""

from __future__ import annotations

import html as html_lib
import re

import nh3

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


def sanitise_html(html: str) -> str:
    """Safe to frame: run when the HTML is shown, not at ingestion (it is stored sealed as
    the sender wrote it), so the sync never pays for it and a stricter policy applies to old
    mail too."""
    return _HTML_CLEANER.clean(html)


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: block ends become line breaks, tags and scripts go."""
    marked = _CELL_END.sub(" \\g<0>", _LINE_BREAK_AFTER.sub("\\g<0>\n", html))
    text = html_lib.unescape(_TEXT_CLEANER.clean(marked))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
