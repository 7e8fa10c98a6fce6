"""Satisfaction results, once the requester wing's ratings exist (inbox.SatisfactionRating).

Read through the app registry so this module imports nothing that may not exist yet: without
the model, reports show no satisfaction section.
"""

from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.db.models import Count

from reports.durations import workspace_zone

RATINGS = ("bien", "moyen", "pas_bien")


def rating_model():
    try:
        return apps.get_model("inbox", "SatisfactionRating")
    except LookupError:
        return None


def satisfaction_figures(
    *, workspace_id: int, since: date, until: date, mailbox_id: int | None = None
) -> dict | None:
    """{"bien": n, "moyen": n, "pas_bien": n, "total": n} for ratings given in the period,
    or None when ratings do not exist. Ratings keep no conversation once it is deleted, so
    only the mailbox filter applies to them."""
    model = rating_model()
    if model is None:
        return None
    zone = workspace_zone(workspace_id)
    start = datetime.combine(since, time.min, tzinfo=zone)
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)
    ratings = model.objects.filter(workspace_id=workspace_id, rated_at__gte=start, rated_at__lt=end)
    if mailbox_id:
        ratings = ratings.filter(mailbox_id=mailbox_id)
    counts = dict(ratings.values("rating").annotate(n=Count("id")).values_list("rating", "n"))
    figures = {rating: counts.get(rating, 0) for rating in RATINGS}
    figures["total"] = sum(figures.values())
    return figures
