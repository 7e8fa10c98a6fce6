"""The privacy policy: which version is in force, which is announced, and its text.

Each version's text is a file, privacy/policies/<version>.<language>.md (French is the one
published; English is a translation beside it). Headings carry explicit ids, so section
anchors stay stable from one version to the next. A new version is recorded by
`privacy.site.policy_publishing`; users are told of it by `privacy.site.policy_notices`.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone
from django.utils.safestring import SafeString

from privacy.models import PolicyVersion
from privacy.site.legal_texts import markdown_file_render

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"


@dataclass(frozen=True)
class RenderedPolicy:
    version: PolicyVersion
    language: str
    html: SafeString
    toc: list[dict]  # [{"id": ..., "name": ..., "level": ...}] for the top-level sections


def policy_path(version: dt.date, language: str) -> Path:
    return POLICY_DIR / f"{version.isoformat()}.{language}.md"


# The version published when Trupeo opened (recorded by migration 0001_public_site).
FOUNDING_VERSION = dt.date(2026, 4, 25)


def policy_in_force(today: dt.date | None = None) -> PolicyVersion | None:
    """The latest version whose effective date has come."""
    today = today or timezone.localdate()
    current = (
        PolicyVersion.objects.filter(effective_date__lte=today)
        .order_by("-effective_date", "-version")
        .first()
    )
    if current is None and today >= FOUNDING_VERSION:
        # A database emptied by hand still has the founding text in force: never no policy.
        current = PolicyVersion(version=FOUNDING_VERSION, effective_date=FOUNDING_VERSION)
    return current


def policy_upcoming(today: dt.date | None = None) -> PolicyVersion | None:
    """The next version announced but not yet in force, if any."""
    today = today or timezone.localdate()
    return (
        PolicyVersion.objects.filter(effective_date__gt=today)
        .order_by("effective_date", "version")
        .first()
    )


def policy_render(version: PolicyVersion, language: str) -> RenderedPolicy:
    """The version's text in `language` (French when no translation exists)."""
    path = policy_path(version.version, language)
    if not path.exists():
        language, path = "fr", policy_path(version.version, "fr")
    html, toc = markdown_file_render(path)
    return RenderedPolicy(version=version, language=language, html=html, toc=toc)
