"""Keep the reports' facts and rollups up to date, from metadata only (never decrypting).

Every change to a conversation goes through `facts_refresh`: its last counted contribution is
taken out of the rollups, its fact is computed again from the rows as they are now (messages'
directions and times, status, assignee, tags, replies), and its new contribution is added. So a
reassignment, a tag, a reopened or merged conversation move its counts instead of adding to
them, and running the backfill twice changes nothing.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max, Min, Q

from inbox.models import (
    Activity,
    ActivityKind,
    Conversation,
    ConversationTag,
    Direction,
    Mailbox,
    Message,
    Outgoing,
    Status,
)
from reports.durations import (
    duration_seconds,
    local_day,
    within_goal,
    workspace_zone,
    zone_of,
)
from reports.models import ConversationFact, DailyCount, FactTag, HourCount, ReplyCount, ReplyFact


@dataclass
class Deltas:
    """What to add to each rollup row (negative: take away)."""

    received: Counter = field(default_factory=Counter)  # (day, mailbox, assignee, tag)
    closed: Counter = field(default_factory=Counter)  # (day, mailbox, assignee, tag)
    hourly: Counter = field(default_factory=Counter)  # (day, hour, mailbox, assignee, tag)
    replies: Counter = field(default_factory=Counter)  # (day, mailbox, assignee, tag, author)


# --- receivers ----------------------------------------------------------------------------------


def mail_stored_received(sender, *, mailbox, arrivals, **kwargs) -> None:
    """A stored batch: its sent messages become replies, its conversations' facts move."""
    messages = [stored.message for stored in arrivals.stored]
    ids = {m.conversation_id for m in messages} | {c.pk for c in arrivals.started}
    if not ids:
        return
    facts_refresh(
        workspace_id=mailbox.workspace_id,
        conversation_ids=ids,
        sent=[m for m in messages if m.direction == Direction.OUTBOUND],
    )


WATCHED = {
    ActivityKind.ASSIGNED,
    ActivityKind.STATUS,
    ActivityKind.TAGGED,
    ActivityKind.UNTAGGED,
    ActivityKind.SPLIT,
    ActivityKind.MERGED,
}


def activity_saved(sender, *, instance: Activity, created: bool, **kwargs) -> None:
    """Triage leaves a trail line for every change the reports count: they follow it."""
    if not created or instance.kind not in WATCHED:
        return
    if instance.actor_id is None and instance.kind in (ActivityKind.ASSIGNED, ActivityKind.TAGGED):
        return  # a rule's line for mail just stored: `mail_stored` counted its batch already
    if instance.kind == ActivityKind.ASSIGNED and fact_reassign(
        workspace_id=instance.workspace_id,
        conversation_id=instance.conversation_id,
        assignee_id=instance.assignee_id,
    ):
        return
    ids = {instance.conversation_id}
    if instance.kind == ActivityKind.SPLIT and instance.other_conversation_id:
        ids.add(instance.other_conversation_id)  # both sides at once: replies moved between them
    if instance.kind == ActivityKind.MERGED and instance.other_conversation_id:
        fact_forget(
            workspace_id=instance.workspace_id, conversation_id=instance.other_conversation_id
        )
    facts_refresh(workspace_id=instance.workspace_id, conversation_ids=ids)


# --- the facts ----------------------------------------------------------------------------------


@transaction.atomic
def fact_reassign(*, workspace_id: int, conversation_id: int, assignee_id: int | None) -> bool:
    """An assignment: the conversation's counts move from one assignee to the other, and
    nothing else of its fact changes (3 queries and its rollups on every assignment, where
    `facts_refresh` takes 13). False when it has no fact yet: the caller computes it whole."""
    fact = (
        ConversationFact.objects.select_for_update()
        .filter(workspace_id=workspace_id, conversation_id=conversation_id)
        .first()
    )
    if fact is None:
        return False
    if fact.assignee_id == assignee_id:
        return True
    replies = _replies_by_conversation([conversation_id]).get(conversation_id, [])
    deltas = Deltas()
    contribution_add(deltas, fact, replies, sign=-1)
    fact.assignee_id = assignee_id
    contribution_add(deltas, fact, replies, sign=1)
    ConversationFact.objects.filter(pk=fact.pk).update(assignee_id=assignee_id)
    deltas_apply(workspace_id, deltas)
    return True


@transaction.atomic
def fact_forget(*, workspace_id: int, conversation_id: int) -> None:
    """A conversation merged into another: its counts leave (the other one now holds them)."""
    facts = list(
        ConversationFact.objects.select_for_update().filter(
            workspace_id=workspace_id, conversation_id=conversation_id
        )
    )
    deltas = Deltas()
    replies = _replies_by_conversation([conversation_id])
    for fact in facts:
        contribution_add(deltas, fact, replies.get(fact.conversation_id, []), sign=-1)
    deltas_apply(workspace_id, deltas)
    ConversationFact.objects.filter(
        workspace_id=workspace_id, conversation_id=conversation_id
    ).delete()
    FactTag.objects.filter(workspace_id=workspace_id, conversation_id=conversation_id).delete()


@transaction.atomic
def facts_refresh(
    *,
    workspace_id: int,
    conversation_ids: Iterable[int],
    sent: Iterable[Message] = (),
    authors: dict[int, int] | None = None,
) -> None:
    """Compute the facts of these conversations again; `sent`: outbound messages not yet
    counted as replies (`authors`: their authors by message id, when already known).
    A conversation that no longer exists keeps its fact (retention)."""
    ids = sorted(set(conversation_ids))
    sent = list(sent)
    # The zone is read with the mailboxes below (their workspace comes along); a query of its
    # own only when the replies to record need it first.
    zone = workspace_zone(workspace_id) if sent else None
    old_facts = {
        f.conversation_id: f
        for f in ConversationFact.objects.select_for_update()
        .filter(workspace_id=workspace_id, conversation_id__in=ids)
        .order_by("conversation_id")  # locks in one order: two refreshes never deadlock
    }
    deltas = Deltas()
    old_replies = _replies_by_conversation(ids)
    for fact in old_facts.values():
        contribution_add(deltas, fact, old_replies.get(fact.conversation_id, []), sign=-1)
    replies_record(workspace_id=workspace_id, messages=sent, zone=zone, authors=authors)
    repointed = _replies_repoint(ids)
    conversations = list(
        Conversation.objects.filter(workspace_id=workspace_id, pk__in=ids).values(
            "pk", "mailbox_id", "assignee_id", "status", "first_message_at"
        )
    )
    present = [c["pk"] for c in conversations]
    firsts = {
        row["conversation_id"]: row
        for row in Message.objects.filter(conversation_id__in=present)
        .values("conversation_id")
        .annotate(
            first_in=Min("received_at", filter=Q(direction=Direction.INBOUND)),
            first_any=Min("received_at"),
        )
    }
    closed = dict(
        Activity.objects.filter(
            conversation_id__in=present, kind=ActivityKind.STATUS, status=Status.CLOSED
        )
        .values("conversation_id")
        .annotate(at=Max("created_at"))
        .values_list("conversation_id", "at")
    )
    tags: dict[int, list[int]] = {}
    for cid, tag_id in ConversationTag.objects.filter(conversation_id__in=present).values_list(
        "conversation_id", "tag_id"
    ):
        tags.setdefault(cid, []).append(tag_id)
    # No reply recorded nor moved: the replies read above are still the rows as they are now.
    new_replies = old_replies if not sent and not repointed else _replies_by_conversation(present)
    mailboxes = Mailbox.objects.select_related("workspace").in_bulk(
        {c["mailbox_id"] for c in conversations}
    )
    if zone is None and mailboxes:
        zone = zone_of(next(iter(mailboxes.values())).workspace)
    facts = []
    for c in conversations:
        fact = _fact(
            workspace_id,
            c,
            mailboxes[c["mailbox_id"]],
            firsts.get(c["pk"], {}),
            closed.get(c["pk"]) if c["status"] == Status.CLOSED else None,
            sorted(tags.get(c["pk"], [])),
            new_replies.get(c["pk"], []),
            zone,
        )
        contribution_add(deltas, fact, new_replies.get(c["pk"], []), sign=1)
        facts.append(fact)
    ConversationFact.objects.bulk_create(
        facts,
        update_conflicts=True,
        unique_fields=["conversation_id"],
        update_fields=[
            f.name
            for f in ConversationFact._meta.concrete_fields
            if not f.unique and f.name not in ("id", "workspace", "conversation_id")
        ],
    )
    FactTag.objects.filter(workspace_id=workspace_id, conversation_id__in=present).delete()
    FactTag.objects.bulk_create(
        [
            FactTag(workspace_id=workspace_id, conversation_id=f.conversation_id, tag_id=t)
            for f in facts
            for t in f.tag_ids
        ]
    )
    deltas_apply(workspace_id, deltas)


def _fact(
    workspace_id, c: dict, mailbox: Mailbox, firsts: dict, closed_at, tag_ids, replies, zone
) -> ConversationFact:
    first_in, first_any = firsts.get("first_in"), firsts.get("first_any")
    # Received: a requester wrote first. A conversation the team began counts only its replies.
    counted = first_in is not None and first_in <= first_any
    received_at = first_in or first_any or c["first_message_at"]
    first_reply_at = min((r.sent_at for r in replies if r.sent_at >= received_at), default=None)
    if closed_at is not None and closed_at < received_at:
        closed_at = None  # closed before the requester wrote (an old closing, then reopened)
    first_reply = duration_seconds(mailbox, received_at, first_reply_at) if first_reply_at else None
    resolution = duration_seconds(mailbox, received_at, closed_at) if closed_at else None
    return ConversationFact(
        workspace_id=workspace_id,
        conversation_id=c["pk"],
        mailbox_id=mailbox.pk,
        assignee_id=c["assignee_id"],
        counted=counted and c["status"] != Status.SPAM,
        spam=c["status"] == Status.SPAM,
        received_at=received_at,
        received_day=local_day(received_at, zone),
        received_hour=received_at.astimezone(zone).hour,
        first_reply_at=first_reply_at,
        closed_at=closed_at,
        closed_day=local_day(closed_at, zone) if closed_at else None,
        first_reply_seconds=first_reply,
        resolution_seconds=resolution,
        first_reply_within_goal=within_goal(mailbox, "first_reply", first_reply),
        resolution_within_goal=within_goal(mailbox, "resolution", resolution),
        tag_ids=tag_ids,
    )


# --- replies ------------------------------------------------------------------------------------


def replies_record(
    *,
    workspace_id: int,
    messages: list[Message],
    zone,
    authors: dict[int, int] | None = None,
) -> None:
    """Sent messages as replies; the author is the teammate whose outgoing it was (matched by
    the blind token of its Message-ID, as the sent copy is recognised)."""
    if not messages:
        return
    known = authors or {}
    tokens = {
        m.message_id_token for m in messages if m.message_id_token is not None and m.pk not in known
    }
    by_token = (
        dict(
            Outgoing.objects.filter(
                workspace_id=workspace_id, message_id_token__in=tokens, author__isnull=False
            ).values_list("message_id_token", "author_id")
        )
        if tokens
        else {}
    )
    ReplyFact.objects.bulk_create(
        [
            ReplyFact(
                workspace_id=workspace_id,
                message_id=m.pk,
                conversation_id=m.conversation_id,
                author_id=known.get(m.pk) or by_token.get(m.message_id_token),
                sent_at=m.received_at,
                day=local_day(m.received_at, zone),
            )
            for m in messages
        ],
        ignore_conflicts=True,
    )


def _replies_by_conversation(ids: list[int]) -> dict[int, list[ReplyFact]]:
    replies: dict[int, list[ReplyFact]] = {}
    for reply in ReplyFact.objects.filter(conversation_id__in=ids).order_by("sent_at", "id"):
        replies.setdefault(reply.conversation_id, []).append(reply)
    return replies


def _replies_repoint(ids: list[int]) -> int:
    """After a merge or a split, replies follow their messages to the conversation they are in;
    how many moved."""
    moved = Message.objects.filter(
        conversation_id__in=ids, direction=Direction.OUTBOUND
    ).values_list("pk", "conversation_id")
    by_message = dict(moved)
    stale = ReplyFact.objects.filter(message_id__in=list(by_message)).only(
        "message_id", "conversation_id"
    )
    changed = []
    for reply in stale:
        if reply.conversation_id != by_message[reply.message_id]:
            reply.conversation_id = by_message[reply.message_id]
            changed.append(reply)
    ReplyFact.objects.bulk_update(changed, ["conversation_id"])
    return len(changed)


# --- rollups ------------------------------------------------------------------------------------


def contribution_add(
    deltas: Deltas, fact: ConversationFact, replies: list[ReplyFact], *, sign: int
) -> None:
    """What one conversation counts for in the rollups, added to `deltas` (times `sign`)."""
    if fact.spam:
        return
    assignee = fact.assignee_id or 0
    received_hour, closed_day = fact.received_hour, fact.closed_day
    for tag in (0, *fact.tag_ids):
        key = (fact.mailbox_id, assignee, tag)
        if fact.counted:
            deltas.received[(fact.received_day, *key)] += sign
            deltas.hourly[(fact.received_day, received_hour, *key)] += sign
            if closed_day:
                deltas.closed[(closed_day, *key)] += sign
        for reply in replies:
            deltas.replies[(reply.day, *key, reply.author_id or 0)] += sign


UPSERTS = [
    (DailyCount, ["day", "mailbox_id", "assignee_id", "tag_id"], ["received", "closed"]),
    (HourCount, ["day", "hour", "mailbox_id", "assignee_id", "tag_id"], ["received"]),
    (ReplyCount, ["day", "mailbox_id", "assignee_id", "tag_id", "author_id"], ["replies"]),
]


def deltas_apply(workspace_id: int, deltas: Deltas) -> None:
    """Add the deltas in one statement per rollup (INSERT … ON CONFLICT DO UPDATE: PostgreSQL
    and SQLite both read it the same way)."""
    daily: dict[tuple, list[int]] = {}
    for key, n in deltas.received.items():
        daily.setdefault(key, [0, 0])[0] += n
    for key, n in deltas.closed.items():
        daily.setdefault(key, [0, 0])[1] += n
    # Sorted: two batches adding to the same rollup rows take their locks in one order.
    rows = {
        DailyCount: sorted((*k, *v) for k, v in daily.items() if any(v)),
        HourCount: sorted((*k, n) for k, n in deltas.hourly.items() if n),
        ReplyCount: sorted((*k, n) for k, n in deltas.replies.items() if n),
    }
    with connection.cursor() as cursor:
        for model, keys, values in UPSERTS:
            if not rows[model]:
                continue
            table = model._meta.db_table
            columns = ["workspace_id", *keys, *values]
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (names are ours)
                f"VALUES ({', '.join(['%s'] * len(columns))}) "
                f"ON CONFLICT (workspace_id, {', '.join(keys)}) DO UPDATE SET "
                + ", ".join(f"{v} = {table}.{v} + excluded.{v}" for v in values)
            )
            cursor.executemany(sql, [(workspace_id, *row) for row in rows[model]])
