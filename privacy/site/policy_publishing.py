"""Publishing a new version of the privacy policy: checked, recorded, and — for a substantial
change — every user told by email in the background (`privacy.site.policy_notices`)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy import tasks
from privacy.models import PolicyVersion
from privacy.site.policy import policy_path
from trupeo.queueing import enqueue_on_commit

NOTICE_DAYS = 30  # policy, section 12


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
            enqueue_on_commit(tasks.send_policy_notices, policy.pk)
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
