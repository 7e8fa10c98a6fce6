"""The conversation lists' queries: which conversations each list of the inbox holds (Unassigned,
Mine…), narrowed to a mailbox or a tag, a page at a time after a keyset cursor, and the sidebar
around them. The caller passes the workspace's conversations (`accounts.access.in_workspace`)."""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import BadRequest
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Workspace
from inbox.models import Conversation, ConversationRead, ConversationTag, Status
from inbox.selectors.mailboxes import MailboxEntry, mailboxes_listed
from inbox.selectors.tags import TagView, tags_listed
from trupeo.params import parse_id

PAGE_SIZE = 50

# The inbox's lists (a conversation's place in them follows its status, assignee and snooze);
# `?view=` in URLs and "view" in templates name one of them.
LISTS = {
    "unassigned": _("Unassigned"),
    "mine": _("Mine"),
    "open": _("All open"),
    "pending": _("Pending"),
    "snoozed": _("Snoozed"),
    # Lists: plural where French agrees ("Fermées", not the status "Fermée").
    "closed": pgettext_lazy("inbox view", "Closed"),
    "spam": pgettext_lazy("inbox view", "Spam"),
}


# LISTS' labels translated, per language: lazy labels are translated again on every render.
_labels: dict[str | None, dict[str, str]] = {}


def list_labels() -> dict[str, str]:
    """LISTS with their labels in the active language."""
    language = get_language()
    labels = _labels.get(language)
    if labels is None:
        labels = _labels[language] = {key: str(label) for key, label in LISTS.items()}
    return labels


def not_snoozed(now: datetime | None = None):
    """Filter for every list but "Snoozed" (a time just passed counts as awake already)."""
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now or timezone.now())


def conversations_listed(
    conversations: QuerySet[Conversation], *, listed: str, user: User, now: datetime
) -> QuerySet[Conversation]:
    """The conversations of one of LISTS."""
    if listed == "snoozed":
        return conversations.filter(snoozed_until__gt=now)
    if listed in (Status.CLOSED, Status.SPAM):
        return conversations.filter(status=listed)
    conversations = conversations.filter(not_snoozed(now))
    if listed == "mine":
        return conversations.filter(status=Status.OPEN, assignee=user)
    if listed == "unassigned":
        return conversations.filter(status=Status.OPEN, assignee__isnull=True)
    if listed == Status.PENDING:
        return conversations.filter(status=Status.PENDING)
    return conversations.filter(status=Status.OPEN)


def conversations_narrowed(
    conversations: QuerySet[Conversation], *, mailbox: MailboxEntry | None, tag: TagView | None
) -> QuerySet[Conversation]:
    if mailbox is not None:
        conversations = conversations.filter(mailbox_id=mailbox.pk)
    if tag is not None:
        conversations = conversations.filter(
            Exists(ConversationTag.objects.filter(conversation=OuterRef("pk"), tag_id=tag.id))
        )
    return conversations


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _cursor(conversation: Conversation) -> str:
    """Keyset cursor of a row: "<microseconds since 1970>_<id>", URL-safe as it is."""
    return f"{(conversation.last_message_at - _EPOCH) // _MICROSECOND}_{conversation.pk}"


def _after(cursor: str) -> tuple[datetime, int] | None:
    """The row a "Show more" link continues after; None for the first page. A cursor we did
    not write (edited, truncated, 30 digits long) is a 400, not a wrong page."""
    if not cursor:
        return None
    micros, _sep, pk = cursor.partition("_")
    micros_ok = micros.isascii() and micros.isdigit() and len(micros) <= 18
    if not micros_ok or parse_id(pk) is None:
        raise BadRequest("This page link is broken.")
    try:
        return _EPOCH + int(micros) * _MICROSECOND, int(pk)
    except OverflowError:  # beyond year 9999
        raise BadRequest("This page link is broken.") from None


def _read_at(user: User) -> Subquery:
    """When `user` last opened the conversation (None: never), read with the row."""
    return Subquery(
        ConversationRead.objects.filter(conversation=OuterRef("pk"), user=user).values("read_at")[
            :1
        ]
    )


def conversations_page(
    conversations: QuerySet[Conversation], *, user: User, after: str
) -> tuple[list[Conversation], str]:
    """One page of the list, newest first, after the cursor `after` ("": the first page), with
    when `user` read each (`read_at`); and the cursor of the next page ("": none)."""
    conversations = conversations.annotate(read_at=_read_at(user)).order_by(
        "-last_message_at", "-id"
    )
    cursor = _after(after)
    if cursor:
        stamp, pk = cursor
        # The redundant `lte` makes the index range do the work; the OR alone is a filter
        # applied to every earlier row (page 50 read all 49 pages before it).
        conversations = conversations.filter(last_message_at__lte=stamp).filter(
            Q(last_message_at__lt=stamp) | Q(last_message_at=stamp, id__lt=pk)
        )
    page = list(conversations[: PAGE_SIZE + 1])
    has_more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return page, _cursor(page[-1]) if has_more else ""


def _side_list(key: str, label: str, count: int | None) -> tuple:
    """(key, label, count, the count in words for screen readers) of one list."""
    if not count:
        return key, label, count, ""
    return (
        key,
        label,
        count,
        ngettext("%(n)s conversation", "%(n)s conversations", count) % {"n": count},
    )


def sidebar_context(
    workspace: Workspace,
    *,
    listed: str,
    mailbox: MailboxEntry | None,
    tag: TagView | None,
    counts: dict[str, int] | None = None,
) -> dict:
    """What the sidebar shows around a list or a conversation: the lists (with how many
    conversations each holds when `counts` is given), mailboxes and tags."""
    labels = list_labels()
    return {
        "views": labels,
        "side_lists": [
            _side_list(key, label, (counts or {}).get(key)) for key, label in labels.items()
        ],
        "view": listed,
        "mailboxes": mailboxes_listed(workspace),
        "all_tags": tags_listed(workspace),
        "current_mailbox": mailbox,
        "current_tag": tag,
        "current_tag_name": tag.name if tag else "",
        "scope": urlencode(
            {k: v for k, v in (("mailbox", mailbox and mailbox.pk), ("tag", tag and tag.id)) if v}
        ),
    }
