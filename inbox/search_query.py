"""Search without plaintext: a query becomes blind tokens plus filters on clear columns.

Operators: from:, to:, subject:, tag:, is:open|pending|closed|snoozed, assignee:me|<name>,
mailbox:<address>, before:YYYY-MM-DD, after:YYYY-MM-DD, has:attachment; other words (and
"quoted phrases", taken word by word) must all appear in the message. Matching runs on the
integers of the blind index; the page that is shown is then confirmed by decrypting it.
"""

import shlex
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Membership, User, Workspace
from inbox.models import Conversation, Message, Status
from inbox.search import words
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
    impossible: bool = False  # e.g. tag: before tags exist, an unknown assignee
    problems: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.text.strip()


def _day(value: str) -> datetime | None:
    try:
        return timezone.make_aware(datetime.combine(date.fromisoformat(value), time.min))
    except ValueError:
        return None


def _terms(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: read the words as they are
        return text.replace('"', " ").split()


def parse_query(text: str, *, keys: WorkspaceKeys, workspace: Workspace, user: User) -> Query:
    query = Query(text=text)
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
        elif name == "tag":
            query.impossible = True  # no tags yet: nothing carries one
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


def search_conversations(query: Query, conversations: QuerySet[Conversation]) -> QuerySet:
    """Conversations of `conversations` with a message matching every token and filter."""
    if query.impossible:
        return conversations.none()
    result = conversations.filter(query.conversation_filter)
    if query.tokens or query.message_filter:
        matching = Message.objects.filter(conversation=OuterRef("pk")).filter(query.message_filter)
        if query.tokens:
            matching = matching.filter(search_tokens__contains_all=sorted(query.tokens))
        result = result.filter(Exists(matching))
    return result


def confirm(query: Query, texts: list[str]) -> bool:
    """Decrypted text of a conversation still holds every free word (the index is blind and
    truncated: this removes the rare false match)."""
    if not query.words:
        return True
    found: set[str] = set()
    for text in texts:
        found |= words(text)
    return query.words <= found
