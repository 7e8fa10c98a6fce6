"""Search without plaintext: a query becomes blind tokens plus filters on clear columns.

Operators: from:, to:, subject:, tag:, is:open|pending|closed|snoozed, assignee:me|<name>,
mailbox:<address>, before:YYYY-MM-DD, after:YYYY-MM-DD, has:attachment; other words (and
"quoted phrases", taken word by word) must all appear in the message. Matching runs on the
integers of the blind index; the page that is shown is then confirmed by decrypting it.
"""

import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from time import monotonic

from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from accounts.models import Membership, User, Workspace
from inbox.mail.sealing import message_row, open_json
from inbox.mail.search import missing_words, words
from inbox.models import Conversation, ConversationTag, Message, Status, Tag
from inbox.selectors.tags import tag_token
from trupeo.crypto import WorkspaceKeys

_FIELD_PREFIXES = {"from": "from:", "to": "to:", "subject": "subject:"}
_STATUSES = {"open": Status.OPEN, "pending": Status.PENDING, "closed": Status.CLOSED}


@dataclass
class Query:
    text: str
    tokens: set[int] = field(default_factory=set)
    words: set[str] = field(default_factory=set)  # free words, to confirm after decrypting
    conversation_filter: Q = field(default_factory=Q)
    message_filter: Q = field(default_factory=Q)
    impossible: bool = False  # e.g. an unknown tag or assignee
    workspace_id: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


def _day(value: str) -> datetime | None:
    try:
        day = timezone.make_aware(datetime.combine(date.fromisoformat(value), time.min))
        # In UTC, as the database compares it: midnight on 1 January of year 1 in Paris is
        # still year 0 there, which no datetime holds.
        return day.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _terms(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: read the words as they are
        return text.replace('"', " ").split()


def parse_query(text: str, *, keys: WorkspaceKeys, workspace: Workspace, user: User) -> Query:
    query = Query(text=text, workspace_id=workspace.pk)
    for term in _terms(text):
        name, sep, value = term.partition(":")
        name = name.lower()
        if not sep or not value:
            found = words(term)
            query.words |= found
            query.tokens |= {keys.search_token(w) for w in found}
        elif name in _FIELD_PREFIXES:
            query.tokens |= {keys.search_token(_FIELD_PREFIXES[name] + w) for w in words(value)}
        elif name == "has" and value.lower() in ("attachment", "attachments", "pj"):
            query.tokens.add(keys.search_token("has:attachment"))
        elif name == "is" and value.lower() in _STATUSES:
            query.conversation_filter &= Q(status=_STATUSES[value.lower()])
        elif name == "is" and value.lower() == "snoozed":
            query.conversation_filter &= Q(snoozed_until__gt=timezone.now())
        elif name == "assignee":
            query.conversation_filter &= _assignee(
                value, workspace=workspace, user=user, query=query
            )
        elif name == "mailbox":
            query.conversation_filter &= Q(mailbox__address__iexact=value) | Q(
                mailbox__address__istartswith=value + "@"
            )
        elif name in ("before", "after"):
            day = _day(value)
            if day is None:
                query.problems.append(f"{name}:{value}")
                continue
            key = "received_at__lt" if name == "before" else "received_at__gte"
            query.message_filter &= Q(**{key: day})
            # Bounds on the conversation's span, which the search walk checks in its index:
            # a message after the day makes the last one so, one before it the first one.
            if name == "after":
                query.conversation_filter &= Q(last_message_at__gte=day)
            else:
                query.conversation_filter &= Q(first_message_at__lt=day)
        elif name == "tag":
            tag = Tag.objects.filter(workspace=workspace, name_token=tag_token(keys, value)).first()
            if tag is None:
                query.impossible = True  # no such tag: nothing carries it
            else:
                query.conversation_filter &= Q(
                    Exists(ConversationTag.objects.filter(conversation=OuterRef("pk"), tag=tag))
                )
        else:  # "re:" or a URL: plain words after all
            found = words(term)
            query.words |= found
            query.tokens |= {keys.search_token(w) for w in found}
    return query


def _assignee(value: str, *, workspace: Workspace, user: User, query: Query) -> Q:
    if value.lower() in ("me", "moi"):
        return Q(assignee=user)
    if value.lower() in ("none", "nobody", "personne"):
        return Q(assignee__isnull=True)
    matches = Membership.objects.filter(workspace=workspace).filter(
        Q(user__email__istartswith=value) | Q(user__name__icontains=value)
    )
    ids = list(matches.values_list("user_id", flat=True))
    if not ids:
        query.impossible = True
    return Q(assignee_id__in=ids)


# Up to this many matching messages, a search is answered from the blind index's GIN index.
RARE = 20_000


def search_conversations(query: Query, conversations: QuerySet[Conversation]) -> QuerySet:
    """Conversations of `conversations` with a message matching every token and filter.

    Two plans, chosen by how many messages match. Few (a name, a file number): the GIN index
    lists them all at once and their conversations are sorted — walking conversations would
    visit most of the workspace before finding a page. Many (a common word): walking
    conversations newest first and checking each one's messages fills a page sooner.
    PostgreSQL's own estimate (an EXPLAIN, about a millisecond) tells which case this is.
    """
    if query.impossible:
        return conversations.none()
    result = conversations.filter(query.conversation_filter)
    if not (query.tokens or query.message_filter):
        return result
    matching = Message.objects.filter(query.message_filter)
    if query.tokens:
        matching = matching.filter(search_tokens__contains_all=sorted(query.tokens))
        ids = _few_conversations(matching.filter(workspace_id=query.workspace_id))
        if ids is not None:
            return result.filter(_among(ids))
    return result.filter(Exists(matching.filter(conversation=OuterRef("pk"))))


def _few_conversations(matching: QuerySet[Message]) -> list[int] | str | None:
    """The conversations of the matching messages when they are few, else None: a list, or
    on PostgreSQL an array literal ("{1,2,3}") that goes back as it came (thousands of ids
    are neither read into Python nor adapted one by one on the way back)."""
    ids = matching.values_list("conversation_id", flat=True)
    if connection.vendor != "postgresql":
        # Bounded all the same: an estimate can be wrong.
        found = list(ids[: RARE * 2 + 1])
        return None if len(found) > RARE * 2 else sorted(set(found))
    if _estimated_rows(ids) > RARE:
        return None
    sql, params = ids[: RARE * 2 + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        # Bounded all the same (an estimate can be wrong): more than the bound, the walk.
        cursor.execute(
            "SELECT count(*), array_agg(DISTINCT found.conversation_id)::text "
            "FROM (" + sql + ") AS found",  # Django's own SQL, values as parameters
            params,
        )
        count, array = cursor.fetchone()
    return None if count > RARE * 2 else array or "{}"


# PostgreSQL's estimate of how many messages a search matches, by its SQL, kept a while per
# process: it only chooses the plan (both give the same conversations), and an agent repeats
# a search (the next page, the live refresh) within minutes. Each EXPLAIN is a round trip
# and a planning, on every search otherwise.
_estimates: dict[str, tuple[float, int]] = {}
ESTIMATE_SECONDS = 600
ESTIMATES_KEPT = 1000


def _estimated_rows(matching: QuerySet) -> int:
    sql, params = matching.query.sql_with_params()
    key = f"{connection.alias}\0{sql}\0{params!r}"
    now = monotonic()
    kept = _estimates.get(key)
    if kept is not None and now - kept[0] < ESTIMATE_SECONDS:
        return kept[1]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        rows = cursor.fetchone()[0][0]["Plan"]["Plan Rows"]
    if len(_estimates) >= ESTIMATES_KEPT:
        _estimates.clear()  # bounded: many distinct searches start over
    _estimates[key] = (now, rows)
    return rows


class _AnyOf(Func):
    """`column = ANY(array literal)`, a condition."""

    arg_joiner = " = ANY("
    template = "%(expressions)s::bigint[])"
    output_field = BooleanField()


def _among(ids: list[int] | str) -> Q | _AnyOf:
    """The conversations whose id is in `ids` (on PostgreSQL an array literal). As `id =
    ANY(array)` there, not `IN (SELECT unnest(…))`: PostgreSQL then knows how many ids there
    are (it guesses 200 for unnest), and for thousands of them walks the conversations newest
    first, testing each id in a hash, until the page is full (a word in 3 % of them: 1,700
    index entries read) rather than fetching every one of them to sort them; for a few, it
    fetches those."""
    if connection.vendor != "postgresql":
        return Q(pk__in=ids)
    return _AnyOf(F("pk"), Value(ids))


def confirm(query: Query, texts: list[str]) -> bool:
    """Decrypted text of a conversation still holds every free word (the index is blind and
    truncated: this removes the rare false match)."""
    if not query.words:
        return True
    found: set[str] = set()
    for text in texts:
        found |= words(text)
    return query.words <= found


def confirmed(
    query: Query, keys: WorkspaceKeys, conversations: list[Conversation]
) -> list[Conversation]:
    """Keep the conversations whose decrypted messages really hold the query's words."""
    if not query.words or not conversations:
        return conversations
    # The words still to find in each conversation: once they are all found, its other
    # messages are not decrypted nor split into words (most confirm on their first message).
    missing: dict[int, set[str]] = {c.pk: set(query.words) for c in conversations}
    tokens = sorted(query.tokens)
    # Plain tuples, not model instances: a page's candidates are a few hundred messages.
    candidates = Message.objects.filter(
        conversation_id__in=list(missing), search_tokens__contains_all=tokens
    ).values_list("conversation_id", "mailbox_id", "sealed_as", "envelope_sealed", "text_sealed")
    for conversation_id, mailbox_id, sealed_as, envelope, text in candidates:
        left = missing[conversation_id]
        if not left:
            continue
        for found in _searched_texts(keys, message_row(mailbox_id, sealed_as), envelope, text):
            left = missing[conversation_id] = missing_words(found, left)
            if not left:
                break
    return [c for c in conversations if not missing[c.pk]]


def _searched_texts(
    keys: WorkspaceKeys, row: str, envelope_sealed: bytes, text_sealed: bytes | None
) -> Iterator[str]:
    """What a search looks in, cheapest first: the body is decrypted only when needed."""
    envelope = open_json(keys, envelope_sealed, field="message.envelope", row=row)
    yield envelope.get("subject") or ""
    people = [envelope.get("from") or {}, *(envelope.get("to") or []), *(envelope.get("cc") or [])]
    yield " ".join(f"{p.get('name', '')} {p.get('address', '')}" for p in people)
    yield keys.open_text(text_sealed, field="message.text", row=row) or ""
