"""The privacy policy: which version is in force, its text, and publishing a new one.

Each version's text is a file, privacy/policies/<version>.<language>.md (French is the one
published; English is a translation beside it). Headings carry explicit ids, so section
anchors stay stable from one version to the next.
"""

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import markdown
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from privacy.models_public import PolicyVersion
from privacy.public_paths import public_reverse
from trupeo.queueing import enqueue_on_commit

POLICY_DIR = Path(__file__).resolve().parent / "policies"
NOTICE_DAYS = 30  # policy, section 12


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


def policy_publish(
    *,
    version: dt.date,
    effective_date: dt.date,
    substantial: bool,
    summary: str = "",
    today: dt.date | None = None,
) -> PolicyVersion:
    """Record a new version. A substantial change must take effect at least 30 days later,
    and every user is then told by email (in the background, in batches)."""
    policy_check(
        version=version,
        effective_date=effective_date,
        substantial=substantial,
        summary=summary,
        today=today,
    )
    with transaction.atomic():
        policy = PolicyVersion.objects.create(
            version=version,
            effective_date=effective_date,
            substantial=substantial,
            summary=summary.strip(),
        )
        if substantial:
            from privacy.tasks_public import send_policy_notices

            enqueue_on_commit(send_policy_notices, policy.pk)
    return policy


def policy_check(
    *,
    version: dt.date,
    effective_date: dt.date,
    substantial: bool,
    summary: str = "",
    today: dt.date | None = None,
) -> None:
    """ValidationError, in words, when this version cannot be published."""
    today = today or timezone.localdate()
    if not policy_path(version, "fr").exists():
        raise ValidationError(
            _("There is no text for version %(version)s: add privacy/policies/%(file)s first.")
            % {"version": version.isoformat(), "file": f"{version.isoformat()}.fr.md"}
        )
    if PolicyVersion.objects.filter(version=version).exists():
        raise ValidationError(
            _("Version %(version)s is already published.") % {"version": version.isoformat()}
        )
    if effective_date < version:
        raise ValidationError(_("A version cannot take effect before its own date."))
    if substantial:
        if effective_date < today + dt.timedelta(days=NOTICE_DAYS):
            raise ValidationError(
                _(
                    "A substantial change takes effect at least %(days)d days after it is "
                    "announced: on %(date)s at the earliest."
                )
                % {
                    "days": NOTICE_DAYS,
                    "date": (today + dt.timedelta(days=NOTICE_DAYS)).isoformat(),
                }
            )
        if not summary.strip():
            raise ValidationError(_("Summarise a substantial change: the notice email says it."))


NOTICE_BATCH = 200


def policy_notices_send(*, policy_id: int, batch_size: int = NOTICE_BATCH) -> int:
    """Email every active user about a substantial change, in batches; returns how many.

    Progress is kept on the version after each batch (users in id order), so a task that
    is retried after a crash resumes where it stopped instead of writing to everyone again.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.mail import EmailMessage, mailers
    from django.template.loader import render_to_string
    from django.utils import translation

    policy = PolicyVersion.objects.get(pk=policy_id)
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    sent = 0
    while True:
        batch = list(
            users.filter(pk__gt=policy.notified_through_user_id).only("pk", "email", "language")[
                :batch_size
            ]
        )
        if not batch:
            break
        messages = []
        for user in batch:
            language = user.language or settings.LANGUAGE_CODE
            with translation.override(language):
                context = {
                    "policy": policy,
                    "policy_url": settings.SITE_URL
                    + public_reverse("policy", language)
                    + f"?version={policy.version.isoformat()}",
                }
                subject = render_to_string(
                    "privacy/public/email/policy_notice_subject.txt", context
                ).strip()
                body = render_to_string("privacy/public/email/policy_notice_message.txt", context)
            messages.append(EmailMessage(subject, body, None, [user.email]))
        mailers.default.send_messages(messages)
        sent += len(messages)
        policy.notified_through_user_id = batch[-1].pk
        policy.notices_sent += len(messages)
        policy.save(update_fields=["notified_through_user_id", "notices_sent"])
    policy.notices_done_at = timezone.now()
    policy.save(update_fields=["notices_done_at"])
    return sent
