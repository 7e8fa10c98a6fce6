"""The data-processing terms' text (Trupeo as the processor of its clients' mail, policy
section 10), served on the public site.

Each version's text is a file, privacy/dpa/<version>.<language>.md (French binds; English is
a translation beside it). `TRUPEO_DPA_VERSION` names the version in force; a system check
refuses to start without its French text. Who accepted which version is recorded by
`privacy.gdpr.processor_terms`.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register
from django.utils.safestring import SafeString

from privacy.site.legal_texts import markdown_file_render
from privacy.site.paths import public_reverse

TERMS_DIR = Path(__file__).resolve().parent.parent / "dpa"
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def current_version() -> str:
    return settings.TRUPEO_DPA_VERSION


def terms_path(version: str, language: str) -> Path:
    return TERMS_DIR / f"{version}.{language}.md"


def terms_versions() -> list[str]:
    """Every version with a French text, oldest first."""
    return sorted(
        p.name.removesuffix(".fr.md")
        for p in TERMS_DIR.glob("*.fr.md")
        if _VERSION.match(p.name.removesuffix(".fr.md"))
    )


@dataclass(frozen=True)
class RenderedTerms:
    version: str
    language: str
    html: SafeString
    toc: list[dict]


def terms_render(version: str, language: str) -> RenderedTerms:
    """The version's text in `language` (French when not translated). `version` must be one
    of `terms_versions()`: it names a file."""
    if version not in terms_versions():
        raise LookupError(version)
    path = terms_path(version, language)
    if not path.exists():
        language, path = "fr", terms_path(version, "fr")
    html, toc = markdown_file_render(path)
    return RenderedTerms(version=version, language=language, html=html, toc=toc)


def terms_url(language: str, version: str | None = None) -> str:
    url = public_reverse("processor_terms", language)
    return f"{url}?version={version}" if version else url


@register()
def check_terms_text(app_configs, **kwargs) -> list[Error]:
    version = current_version()
    if terms_path(version, "fr").exists() and _VERSION.match(version):
        return []
    return [
        Error(
            f"TRUPEO_DPA_VERSION is {version!r} but there is no privacy/dpa/{version}.fr.md: "
            "owners would be asked to accept terms nobody can read.",
            id="privacy.E001",
        )
    ]
