"""Satisfaction results for a report: the requesters' ratings given in the period.

Ratings outlive their conversations (inbox.SatisfactionRating keeps no content and loses only
its link when retention deletes the conversation), so only the mailbox filter applies.
"""

from datetime import date, datetime, time, timedelta

from accounts.models import Workspace
from inbox.models import SatisfactionLevel
from inbox.selectors.satisfaction import satisfaction_counts
from reports.durations import workspace_zone

RATINGS = tuple(SatisfactionLevel.values)  # good, average, bad


def satisfaction_figures(
    *, workspace_id: int, since: date, until: date, mailbox_id: int | None = None
) -> dict:
    """{"good": n, "average": n, "bad": n, "total": n} for ratings given in the period."""
    zone = workspace_zone(workspace_id)
    figures = satisfaction_counts(
        workspace=Workspace(pk=workspace_id),
        since=datetime.combine(since, time.min, tzinfo=zone),
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone),
        mailbox_id=mailbox_id,
    )
    return {**figures, "total": sum(figures.values())}
