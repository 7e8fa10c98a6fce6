"""The figures of a report, read from the facts and rollups (never from the mail): counts per
day or week, reply and resolution times, replies per agent, the busy hours, satisfaction.

The page, its CSV files and `manage.py report` all read `report_figures`, so they agree.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import ExtractIsoWeekDay

from accounts.models import User
from reports.models import ConversationFact, DailyCount, FactTag, HourCount, ReplyCount
from reports.satisfaction import satisfaction_figures

MAX_DAYS = 731  # two years: a report compares a year with the one before at most


@dataclass(frozen=True)
class Scope:
    """What a report covers: a workspace, a period (both days included), optional filters."""

    workspace_id: int
    since: date
    until: date
    mailbox_id: int | None = None
    tag_id: int | None = None
    assignee_id: int | None = None
    by_week: bool = False


@dataclass(frozen=True)
class Bucket:
    start: date
    received: int
    closed: int


@dataclass(frozen=True)
class Durations:
    count: int
    median: float | None  # seconds
    p90: float | None
    within_goal: int
    with_goal: int

    @property
    def share_within_goal(self) -> float | None:
        return self.within_goal / self.with_goal if self.with_goal else None


@dataclass(frozen=True)
class AgentReplies:
    author_id: int  # 0: sent from another mail client
    name: str
    replies: int


@dataclass
class Report:
    scope: Scope
    buckets: list[Bucket]
    first_reply: Durations
    resolution: Durations
    agents: list[AgentReplies]
    heat: list[list[int]]  # 7 rows (Monday first) of 24 hours
    satisfaction: dict | None = None
    received: int = field(init=False)
    closed: int = field(init=False)
    replies: int = field(init=False)

    def __post_init__(self) -> None:
        self.received = sum(b.received for b in self.buckets)
        self.closed = sum(b.closed for b in self.buckets)
        self.replies = sum(a.replies for a in self.agents)


NOTHING = Durations(0, None, None, 0, 0)


def report_figures(scope: Scope, *, only: str | None = None) -> Report:
    """The whole report, or with `only` one section of it ("volume", "times", "agents",
    "hours", "satisfaction"): a CSV export computes its own figures and no others."""

    def wanted(section: str) -> bool:
        return only is None or only == section

    durations = _durations(scope) if wanted("times") else dict.fromkeys(KINDS, NOTHING)
    return Report(
        scope=scope,
        buckets=_buckets(scope) if wanted("volume") else [],
        first_reply=durations["first_reply"],
        resolution=durations["resolution"],
        agents=_agents(scope) if wanted("agents") else [],
        heat=_heat(scope) if wanted("hours") else [[0] * 24 for _ in range(7)],
        satisfaction=satisfaction_figures(
            workspace_id=scope.workspace_id,
            since=scope.since,
            until=scope.until,
            mailbox_id=scope.mailbox_id,
        )
        if wanted("satisfaction")
        else None,
    )


def _rollup_filter(scope: Scope) -> Q:
    q = Q(
        workspace_id=scope.workspace_id,
        day__gte=scope.since,
        day__lte=scope.until,
        tag_id=scope.tag_id or 0,
    )
    if scope.mailbox_id:
        q &= Q(mailbox_id=scope.mailbox_id)
    if scope.assignee_id:
        q &= Q(assignee_id=scope.assignee_id)
    return q


def bucket_start(day: date, by_week: bool) -> date:
    return day - timedelta(days=day.weekday()) if by_week else day


def _buckets(scope: Scope) -> list[Bucket]:
    """Every day (or week, from its Monday) of the period, the empty ones too."""
    rows = (
        DailyCount.objects.filter(_rollup_filter(scope))
        .values("day")
        .annotate(received=Sum("received"), closed=Sum("closed"))
    )
    counts: dict[date, list[int]] = {}
    for row in rows:
        start = bucket_start(row["day"], scope.by_week)
        pair = counts.setdefault(start, [0, 0])
        pair[0] += row["received"]
        pair[1] += row["closed"]
    step = timedelta(days=7 if scope.by_week else 1)
    start, buckets = bucket_start(scope.since, scope.by_week), []
    while start <= scope.until:
        received, closed = counts.get(start, (0, 0))
        buckets.append(Bucket(start, received, closed))
        start += step
    return buckets


def _heat(scope: Scope) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    rows = (
        HourCount.objects.filter(_rollup_filter(scope))
        .annotate(weekday=ExtractIsoWeekDay("day"))
        .values("weekday", "hour")
        .annotate(n=Sum("received"))
    )
    for row in rows:
        grid[row["weekday"] - 1][row["hour"]] += row["n"]
    return grid


def _agents(scope: Scope) -> list[AgentReplies]:
    rows = (
        ReplyCount.objects.filter(_rollup_filter(scope))
        .values("author_id")
        .annotate(n=Sum("replies"))
        .filter(n__gt=0)
    )
    counts = {row["author_id"]: row["n"] for row in rows}
    names = dict(User.objects.filter(pk__in=[a for a in counts if a]).values_list("pk", "name"))
    emails = dict(User.objects.filter(pk__in=[a for a in counts if a]).values_list("pk", "email"))
    agents = [
        AgentReplies(author_id, names.get(author_id) or emails.get(author_id, ""), n)
        for author_id, n in counts.items()
    ]
    return sorted(agents, key=lambda a: (-a.replies, a.author_id == 0, a.name))


KINDS = ("first_reply", "resolution")


def _durations(scope: Scope) -> dict[str, Durations]:
    """Median and 90th percentile of the conversations received in the period (continuous
    percentiles, as PostgreSQL's percentile_cont computes them), for both clocks."""
    facts = ConversationFact.objects.filter(
        workspace_id=scope.workspace_id,
        received_day__gte=scope.since,
        received_day__lte=scope.until,
        counted=True,
    )
    if scope.mailbox_id:
        facts = facts.filter(mailbox_id=scope.mailbox_id)
    if scope.assignee_id:
        facts = facts.filter(assignee_id=scope.assignee_id)
    if scope.tag_id:
        facts = facts.filter(
            conversation_id__in=FactTag.objects.filter(
                workspace_id=scope.workspace_id, tag_id=scope.tag_id
            ).values("conversation_id")
        )
    if connection.vendor == "postgresql":
        return _durations_sql(facts)
    figures = {}
    for kind in KINDS:
        seconds, goal = f"{kind}_seconds", f"{kind}_within_goal"
        measured = facts.filter(**{f"{seconds}__isnull": False})
        values = sorted(measured.values_list(seconds, flat=True))
        flags = list(measured.exclude(**{f"{goal}__isnull": True}).values_list(goal, flat=True))
        figures[kind] = Durations(
            count=len(values),
            median=percentile_cont(values, 0.5),
            p90=percentile_cont(values, 0.9),
            within_goal=sum(flags),
            with_goal=len(flags),
        )
    return figures


def _durations_sql(facts) -> dict[str, Durations]:
    """One pass over the period's facts (an index-only scan of `fact_period`), one sort per
    clock: percentile_cont over an array of fractions sorts once for both."""
    sql, params = facts.values_list(
        "first_reply_seconds",
        "first_reply_within_goal",
        "resolution_seconds",
        "resolution_within_goal",
    ).query.sql_with_params()
    # The inner query is Django's own SQL, its values passed apart as parameters.
    query = (
        "SELECT count(f), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY f), "  # noqa: S608
        "count(*) FILTER (WHERE fg), count(fg), "
        "count(r), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY r), "
        f"count(*) FILTER (WHERE rg), count(rg) FROM ({sql}) AS period (f, fg, r, rg)"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        row = cursor.fetchone()
    figures = {}
    for kind, (count, percentiles, within, with_goal) in zip(
        KINDS, (row[0:4], row[4:8]), strict=True
    ):
        median, p90 = percentiles or (None, None)
        figures[kind] = Durations(count, median, p90, within, with_goal)
    return figures


def percentile_cont(values: list[int], fraction: float) -> float | None:
    """The continuous percentile of sorted values (linear interpolation, as PostgreSQL)."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)
