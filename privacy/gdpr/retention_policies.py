"""Retention per data category: what each category is, its default and legal bounds, the
policy in force in a workspace, and what a proposed policy would delete.

The defaults follow our privacy policy (privacy/policies/, section 4): the workspace's data is
kept for the length of the contract unless its owner chooses otherwise (closed conversations:
never deleted by default), the security log for the legal minimum (one year), exports for the
week their link lasts, invoices ten years. A default deletes nothing by itself: only a policy
an owner has previewed and confirmed is applied by the daily run.

Counting is plain COUNT queries on indexed columns: nothing is decrypted, no row is loaded.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, User, Workspace
from inbox.erasure import closed_conversations_count
from privacy.gdpr.export_archive import EXPORT_DAYS
from privacy.models import DataExport, ExportState, RetentionPolicy, SecurityEvent
from trupeo.retention import AUTH_LOGS, CONTACTS, purgers

YEAR = 365
CLOSED_CONVERSATIONS = "closed_conversations"
SECURITY_LOGS = "security_logs"
EXPORTS = "exports"
INVOICE_YEARS = 10


@dataclass(frozen=True)
class Category:
    key: str
    label: Promise
    what: Promise  # what the category holds, in one sentence
    legal: Promise  # the legal minimum or recommendation shown beside it
    in_years: bool  # chosen in years (a list) rather than typed in days
    default: int | None  # days; None = never deleted
    minimum: int
    maximum: int
    never_allowed: bool = False

    @property
    def field(self) -> str:
        return f"{self.key}_days"


CATEGORIES = (
    Category(
        key=CLOSED_CONVERSATIONS,
        label=_("Closed conversations"),
        what=_(
            "Conversations closed for longer than this are deleted with their messages, "
            "attachments, notes and trail. A conversation reopened since is kept."
        ),
        legal=_(
            "No legal minimum. The CNIL recommends 3 years after the last contact for people "
            "who are not clients. By default they are kept for the length of the contract."
        ),
        in_years=True,
        default=None,
        minimum=YEAR,
        maximum=10 * YEAR,
        never_allowed=True,
    ),
    Category(
        key=AUTH_LOGS,
        label=_("Portal sessions and authentication logs"),
        what=_(
            "Requesters' portal sessions and sign-in links, counted from when they ended. "
            "The team's own sign-ins are in the security log below."
        ),
        legal=_("The CNIL recommends keeping authentication logs from a few days to 6 months."),
        in_years=False,
        default=30,
        minimum=1,
        maximum=YEAR,
    ),
    Category(
        key=SECURITY_LOGS,
        label=_("Security logs"),
        what=_("Your team's sign-ins and sign-outs, with IP address and browser."),
        legal=_(
            "Legal minimum: 1 year (connection data a host must keep, decree no. 2021-1362). "
            "Up to 2 years if you need them to investigate incidents."
        ),
        in_years=False,
        default=YEAR,
        minimum=YEAR,
        maximum=2 * YEAR,
    ),
    Category(
        key=CONTACTS,
        label=_("Requesters who were never clients"),
        what=_(
            "Contact details of people who wrote to you but never became clients, counted "
            "from their last message."
        ),
        legal=_("The CNIL recommends 3 years after the last contact for prospects."),
        in_years=True,
        default=3 * YEAR,
        minimum=YEAR,
        maximum=10 * YEAR,
        never_allowed=True,
    ),
    Category(
        key=EXPORTS,
        label=_("Exports"),
        what=_("The ZIP archives of your data, deleted this many days after they were built."),
        legal=_("No legal minimum; a download link never lasts more than 7 days."),
        in_years=False,
        default=EXPORT_DAYS,
        minimum=1,
        maximum=EXPORT_DAYS,
    ),
)
BY_KEY = {category.key: category for category in CATEGORIES}


def defaults() -> dict[str, int | None]:
    return {category.key: category.default for category in CATEGORIES}


def policy_days(policy: RetentionPolicy) -> dict[str, int | None]:
    return {category.key: getattr(policy, category.field) for category in CATEGORIES}


def policy_in_force(*, workspace_id: int) -> RetentionPolicy | None:
    """The newest confirmed policy; None until an owner confirms one (nothing is applied)."""
    return (
        RetentionPolicy.objects.filter(workspace_id=workspace_id)
        .order_by("-confirmed_at", "-id")
        .first()
    )


def policies_in_force() -> list[RetentionPolicy]:
    """Every workspace's policy in force, in one query (the daily run's list)."""
    newest = RetentionPolicy.objects.filter(workspace_id=OuterRef("workspace_id")).order_by(
        "-confirmed_at", "-id"
    )
    return list(
        RetentionPolicy.objects.filter(pk=Subquery(newest.values("pk")[:1])).order_by(
            "workspace_id"
        )
    )


def policy_confirm(
    *, workspace: Workspace, days: dict[str, int | None], actor: User
) -> RetentionPolicy:
    """Record the policy an owner confirmed; the next daily run applies it."""
    return RetentionPolicy.objects.create(
        workspace=workspace,
        confirmed_by=actor,
        confirmed_at=timezone.now(),
        **{BY_KEY[key].field: value for key, value in days.items()},
    )


def cutoff(now: datetime, days: int | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


# ------------------------------------------------------------------------------ security log
# The security log belongs to people, not workspaces: a person in two workspaces has one log.
# A row goes only once every workspace the person is in allows it, so no workspace's policy
# shortens what another keeps; the platform purge (TRUPEO_SECURITY_LOG_DAYS) keeps the rows
# of anyone a workspace keeps longer.


def users_kept_longer_than(days: int) -> list[int]:
    """People some workspace keeps the security log of for more than `days`."""
    longer = [p.workspace_id for p in policies_in_force() if p.security_logs_days > days]
    return list(
        Membership.objects.filter(workspace_id__in=longer).values_list("user_id", flat=True)
    )


def security_log_rows(*, workspace_id: int, days: int, now: datetime):
    members = Membership.objects.filter(workspace_id=workspace_id).values_list("user_id", flat=True)
    return SecurityEvent.objects.filter(
        user_id__in=members, at__lt=now - timedelta(days=days)
    ).exclude(user_id__in=users_kept_longer_than(days))


# ---------------------------------------------------------------------------------- exports


def export_rows(*, workspace_id: int, days: int, now: datetime):
    return DataExport.objects.filter(
        workspace_id=workspace_id,
        state=ExportState.READY,
        created_at__lt=now - timedelta(days=days),
    )


# ---------------------------------------------------------------------------------- preview


def registered_count(category: str, *, workspace_id: int, before: datetime) -> int:
    return sum(p.count(workspace_id, before) for p in purgers(category))


def policy_preview(
    *, workspace_id: int, days: dict[str, int | None], now: datetime | None = None
) -> dict[str, int]:
    """How many rows each category would lose if the policy ran now (COUNT queries only)."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for category in CATEGORIES:
        before = cutoff(now, days.get(category.key))
        if before is None:
            counts[category.key] = 0
        elif category.key == CLOSED_CONVERSATIONS:
            counts[category.key] = closed_conversations_count(
                workspace_id=workspace_id, closed_before=before
            )
        elif category.key == SECURITY_LOGS:
            counts[category.key] = security_log_rows(
                workspace_id=workspace_id, days=days[category.key], now=now
            ).count()
        elif category.key == EXPORTS:
            counts[category.key] = export_rows(
                workspace_id=workspace_id, days=days[category.key], now=now
            ).count()
        else:
            counts[category.key] = registered_count(
                category.key, workspace_id=workspace_id, before=before
            )
    return counts


def days_label(days: int | None) -> str:
    """How a number of days reads on the screen and in receipts: "3 ans", "30 jours"."""
    if days is None:
        return gettext("never deleted")
    if days >= YEAR and days % YEAR == 0:
        years = days // YEAR
        return ngettext("%(n)d year", "%(n)d years", years) % {"n": years}
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
