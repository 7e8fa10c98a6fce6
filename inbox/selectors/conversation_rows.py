"""The rows of the conversation lists (the inbox's lists, search results, "due soon", the API):
each conversation's sealed summary opened into a plain object for the templates."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from accounts.workspace_lists import members
from inbox.mail.sealing import conversation_row, open_json
from inbox.models import Conversation, Status
from trupeo.crypto import WorkspaceKeys


@dataclass(frozen=True)
class ConversationRow:
    id: int
    subject: str
    name: str
    address: str
    snippet: str
    status: str
    status_label: str
    assignee: str
    last_message_at: datetime
    message_count: int
    has_attachments: bool
    tags: tuple = ()
    unread: bool = False
    snoozed_until: datetime | None = None
    url: str = ""
    age: str = ""  # "il y a 3 heures"

    def __getitem__(self, name: str):
        """`row[name]` is `row.name`: Django's templates try `row[name]` first, and the
        TypeError of a class without it, caught, costs ~7 µs a row of the list (20 lookups)."""
        try:
            return getattr(self, name)
        except (AttributeError, TypeError):  # TypeError: not a name, such as `row.0`
            raise KeyError(name) from None

    __iter__ = None  # with __getitem__, Python would otherwise iterate it as a sequence

    @property
    def title(self) -> str:
        return self.subject or _("(no subject)")

    @property
    def who(self) -> str:
        return self.name or self.address

    @property
    def iso(self) -> str:
        return self.last_message_at.isoformat()


def conversation_summary(keys: WorkspaceKeys, conversation: Conversation) -> dict:
    return open_json(
        keys,
        conversation.summary_sealed,
        field="conversation.summary",
        row=conversation_row(conversation.pk),
    )


def id_url(name: str) -> str:
    """The URL of view `name` for any id, as a `str.format` pattern: one reverse for a whole
    page whose links differ only by the id."""
    return reverse(name, args=[0]).replace("/0/", "/{}/")


def assignee_names(workspace: Workspace, conversations: list[Conversation]) -> dict[int, str]:
    """The names of the conversations' assignees, by user id: from the members list each
    process keeps (a join would build a User per row), and one query for those who have left
    the workspace since (their conversations stay assigned to them)."""
    names = {m.user_id: m.name for m in members(workspace)}
    gone = {c.assignee_id for c in conversations if c.assignee_id} - names.keys()
    if gone:
        names |= {u.pk: u.display_name for u in User.objects.filter(pk__in=gone)}
    return names


def conversation_rows(
    keys: WorkspaceKeys,
    conversations: list[Conversation],
    *,
    names: dict[int, str],
    tags: dict[int, list] | None = None,
    read: dict[int, datetime] | None = None,
) -> list[ConversationRow]:
    """`names`: the assignees' names by user id (`assignee_names`); `tags`: tags by
    conversation id; `read`: when the viewer last opened each one."""
    tags = tags or {}
    url = id_url("conversation")
    # Once per page, not per row: Django's get_status_display() rebuilds and hashes the
    # choices (each label a lazy translation) on every call, ~0.1 ms a row.
    status_labels = {value: str(label) for value, label in Status.choices}
    rows = []
    for c in conversations:
        summary = conversation_summary(keys, c)
        rows.append(
            ConversationRow(
                id=c.pk,
                subject=summary.get("subject") or "",
                name=summary.get("name") or "",
                address=summary.get("address") or "",
                snippet=summary.get("snippet") or "",
                status=c.status,
                status_label=status_labels.get(c.status, c.status),
                assignee=names.get(c.assignee_id, ""),
                last_message_at=c.last_message_at,
                message_count=c.message_count,
                has_attachments=c.has_attachments,
                tags=tuple(tags.get(c.pk, ())),
                unread=read is not None and (c.pk not in read or read[c.pk] < c.last_message_at),
                snoozed_until=c.snoozed_until,
                url=url.format(c.pk),
                age=naturaltime(c.last_message_at),
            )
        )
    return rows
