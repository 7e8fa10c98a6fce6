"""Our legal texts as HTML: files in the repository (the policy, the data-processing terms,
the legal notice), never a visitor's text."""

from functools import lru_cache
from pathlib import Path

import markdown
from django.utils.safestring import SafeString, mark_safe

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"


def markdown_file_render(path: Path) -> tuple[SafeString, list[dict]]:
    """One of our legal texts (a file in the repository) as HTML, and its numbered sections."""
    html, toc = _render_file(str(path), path.stat().st_mtime_ns)
    return mark_safe(html), toc  # noqa: S308


@lru_cache(maxsize=8)
def _render_file(path: str, _mtime: int) -> tuple[str, list[dict]]:
    # The text is ours (a file in the repository), never a visitor's: rendering it as HTML is safe.
    md = markdown.Markdown(extensions=["tables", "attr_list", "toc"], output_format="html")
    html = md.convert(Path(path).read_text(encoding="utf-8"))
    sections = [
        {"id": entry["id"], "name": entry["name"]}
        for top in md.toc_tokens
        for entry in [top, *top["children"]]
        # The numbered sections; the text's own "Sommaire" is not one of them.
        if entry["level"] == 3 and entry["name"][:1].isdigit()
    ]
    return html, sections


def legal_notice_render(language: str) -> SafeString:
    """The legal notice in `language` (French when not translated)."""
    path = PAGES_DIR / f"legal.{language}.md"
    if not path.exists():
        path = PAGES_DIR / "legal.fr.md"
    # Our own file from the repository, never a visitor's text.
    return mark_safe(markdown.markdown(path.read_text(encoding="utf-8"), extensions=["attr_list"]))  # noqa: S308
