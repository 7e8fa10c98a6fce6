"""What the conversation page reads: exactly what it shows, decrypted into plain objects for the
templates, the conversation with its live stamp, and senders whose images show."""

import re
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import unquote

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, DateTimeField, Prefetch, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse

from accounts.models import User, Workspace
from inbox.mail.parsing import describe_problems, sanitise_html
from inbox.mail.sealing import (
    note_row,
    open_json,
    stored_attachment_row,
    stored_message_row,
)
from inbox.models import (
    Activity,
    ActivityKind,
    Attachment,
    Conversation,
    ConversationRead,
    Follow,
    Message,
    Note,
    Status,
    ThreadReason,
    TrustedSender,
)
from inbox.selectors.conversation_rows import id_url
from trupeo.crypto import WorkspaceKeys

_REMOTE_SRC = re.compile(r"""(?:src|background)=["']?(?:https?:)?//""", re.IGNORECASE)


@dataclass(frozen=True)
class MessageView:
    id: int
    direction: str
    subject: str
    sender: dict
    to: list[dict]
    cc: list[dict]
    date: datetime
    text: str
    parse_problems: list[str]
    thread_reason: str
    attachments: list[dict]
    has_html: bool
    has_remote_images: bool = False
    is_auto_reply: bool = False  # an out-of-office or other automatic answer (a badge)
    # Where its HTML is shown, framed: set by `conversation_messages` from one reverse() per
    # page; a view built on its own reverses it when asked.
    frame_path: str = ""

    @property
    def sender_address(self) -> str:
        return self.sender.get("address", "")

    @property
    def sender_label(self) -> str:
        return self.sender.get("name") or self.sender_address

    @property
    def problems(self) -> list[str]:
        """The damage the reader should know of, in their language; a missing Message-ID or
        Date stays recorded for diagnostics but is not worth a warning."""
        return describe_problems(self.parse_problems)

    @property
    def frame_url(self) -> str:
        return self.frame_path or reverse("message_html", args=[self.id])

    @property
    def files(self) -> list[dict]:
        """The attachments listed under the message (inline images are shown in it), each
        with its download URL (`conversation_messages` sets it for a whole page)."""
        return [
            a if "url" in a else {**a, "url": reverse("attachment_download", args=[a["id"]])}
            for a in self.attachments
            if not a["is_inline"]
        ]


# What `message_view` reads of a message and of its attachments: the conversation page loads
# only these columns (not the search tokens, the raw object's name, the flags...).
_MESSAGE_SHOWN = (
    "id",
    "mailbox_id",
    "sealed_as",
    "direction",
    "thread_reason",
    "envelope_sealed",
    "text_sealed",
    "html_sealed",
    "sent_at",
    "received_at",
    "is_auto_reply",
)
_ATTACHMENT_SHOWN = ("id", "message_id", "position", "meta_sealed", "size", "is_inline")


def conversation_messages(keys: WorkspaceKeys, conversation: Conversation) -> list[MessageView]:
    """The conversation's messages as its page shows them, oldest first."""
    mails = (
        Message.objects.filter(conversation=conversation)
        .only(*_MESSAGE_SHOWN)
        .prefetch_related(
            # A plain list (`to_attr`): `message.attachments.all()` would build a queryset
            # per message just to hand back the prefetched rows.
            Prefetch(
                "attachments",
                queryset=Attachment.objects.only(*_ATTACHMENT_SHOWN),
                to_attr="attachments_shown",
            )
        )
        .order_by("received_at", "id")
    )
    # Once per page, not per message: get_thread_reason_display() rebuilds the choices, and
    # a reverse() per frame and per file costs as much as the rest of the message's markup.
    reasons = {value: str(label) for value, label in ThreadReason.choices}
    frame_url, download_url = id_url("message_html"), id_url("attachment_download")
    views = []
    for mail in mails:
        view = replace(message_view(keys, mail, reasons), frame_path=frame_url.format(mail.pk))
        for attachment in view.attachments:
            attachment["url"] = download_url.format(attachment["id"])
        views.append(view)
    return views


def message_view(
    keys: WorkspaceKeys, message: Message, reasons: dict[str, str] | None = None
) -> MessageView:
    """`reasons`: the thread reasons' labels by value, when a page shows many messages."""
    row = stored_message_row(message)
    envelope = open_json(keys, message.envelope_sealed, field="message.envelope", row=row)
    text = keys.open_text(message.text_sealed, field="message.text", row=row) or ""
    return MessageView(
        id=message.pk,
        direction=message.direction,
        subject=envelope.get("subject") or "",
        sender=envelope.get("from") or {},
        to=envelope.get("to") or [],
        cc=envelope.get("cc") or [],
        date=message.sent_at or message.received_at,
        text=text,
        parse_problems=envelope.get("problems") or [],
        thread_reason=(
            reasons.get(message.thread_reason, message.thread_reason)
            if reasons is not None
            else message.get_thread_reason_display()
        ),
        attachments=attachment_list(keys, message),
        has_html=message.html_sealed is not None,
        has_remote_images=message.html_sealed is not None
        and bool(_REMOTE_SRC.search(_safe_html(keys, message, row))),
        is_auto_reply=message.is_auto_reply,
    )


def attachment_list(keys: WorkspaceKeys, message: Message) -> list[dict]:
    """File name, Content-ID and size of each part, in order (uses prefetched attachments)."""
    result = []
    prefetched = getattr(message, "attachments_shown", None)  # by `conversation_messages`
    attachments = message.attachments.all() if prefetched is None else prefetched
    for attachment in sorted(attachments, key=lambda a: a.position):
        attachment.message = message  # already loaded: no query to find the row
        meta = open_json(
            keys,
            attachment.meta_sealed,
            field="attachment.meta",
            row=stored_attachment_row(attachment),
        )
        result.append(
            {
                "id": attachment.pk,
                "filename": meta.get("filename") or "",
                "content_id": (meta.get("content_id") or "").strip("<>"),
                "size": attachment.size,
                "is_inline": attachment.is_inline,
            }
        )
    return result


def _safe_html(keys: WorkspaceKeys, message: Message, row: str) -> str:
    """The message's HTML, sanitised (it is stored as the sender wrote it)."""
    return sanitise_html(keys.open_text(message.html_sealed, field="message.html", row=row) or "")


_CID_SRC = re.compile(r"""src=(["'])cid:([^"']+)\1""", re.IGNORECASE)


def message_html(keys: WorkspaceKeys, message: Message, attachment_url) -> str:
    """The sanitised HTML, with inline `cid:` images pointing at our own attachment URL."""
    html = _safe_html(keys, message, stored_message_row(message))
    by_cid = {a["content_id"]: a["id"] for a in attachment_list(keys, message) if a["content_id"]}

    def replace(match: re.Match) -> str:
        attachment_id = by_cid.get(unquote(match.group(2)).strip("<>"))
        return f'src="{attachment_url(attachment_id)}"' if attachment_id else 'src=""'

    return _CID_SRC.sub(replace, html)


@dataclass(frozen=True)
class TrailItem:
    when: datetime
    actor: str
    kind: str
    text: str  # a note's body, decrypted; empty for other events
    status: str
    assignee: str
    tag: str = ""
    until: datetime | None = None
    other: int | None = None  # the other conversation of a merge or split


def trail(
    keys: WorkspaceKeys,
    conversation: Conversation,
    tag_names: dict[int, str] | None = None,
    people: dict[int, str] | None = None,
) -> list[TrailItem]:
    """Notes and activities of a conversation, oldest first (`tag_names` by tag id).

    `people`: display names by user id, as the page already has them (the workspace's
    members); anyone else named in the trail (a former member) is read in one query."""
    tag_names = tag_names or {}
    # Plain rows, no model instances nor joins on users: the names come from `people`.
    notes = Note.objects.filter(conversation=conversation).values_list(
        "id", "created_at", "body_sealed", "author_id"
    )
    activities = (
        Activity.objects.filter(conversation=conversation)
        .exclude(kind=ActivityKind.NOTE)
        .values_list(
            "created_at",
            "kind",
            "status",
            "actor_id",
            "assignee_id",
            "tag_id",
            "snoozed_until",
            "other_conversation_id",
        )
    )
    notes, activities = list(notes), list(activities)
    names = dict(people or {})
    missing = {n[3] for n in notes} | {a[3] for a in activities} | {a[4] for a in activities}
    missing -= {None, *names}
    if missing:
        names.update(
            (user.pk, user.display_name)
            for user in User.objects.filter(pk__in=missing).only("name", "email")
        )
    items = [
        TrailItem(
            when=created_at,
            actor=names.get(author_id, "") if author_id else "",
            kind="note_body",
            text=keys.open_text(body_sealed, field="note.body", row=note_row(note_id)) or "",
            status="",
            assignee="",
        )
        for note_id, created_at, body_sealed, author_id in notes
    ]
    # Once per trail, not per line: get_status_display() rebuilds the choices each time.
    status_labels = {value: str(label) for value, label in Status.choices}
    for created_at, kind, status, actor_id, assignee_id, tag_id, until, other in activities:
        items.append(
            TrailItem(
                when=created_at,
                actor=names.get(actor_id, "") if actor_id else "",
                kind=kind,
                text="",
                status=status_labels.get(status, status) if status else "",
                assignee=names.get(assignee_id, "") if assignee_id else "",
                tag=tag_names.get(tag_id, "") if tag_id else "",
                until=until,
                other=other,
            )
        )
    return sorted(items, key=lambda item: item.when)


def _column(model, field: str) -> str:
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field).column)}"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# The two annotations of `for_page`, written as SQL once per process: as Subquery and Exists
# expressions Django builds and compiles two inner querysets on every page, ~0.9 ms of CPU,
# half the cost of the whole query, for the same SQL. Only names from the models go in.
_NEWEST_ACTIVITY = (
    f"SELECT {_column(Activity, 'id')} FROM {_table(Activity)}"  # noqa: S608 (our names)
    f" WHERE {_column(Activity, 'conversation')} = {_column(Conversation, 'id')}"
    f" ORDER BY {_column(Activity, 'id')} DESC LIMIT 1"
)
_FOLLOWED = (
    f"EXISTS (SELECT 1 FROM {_table(Follow)}"  # noqa: S608 (our names)
    f" WHERE {_column(Follow, 'conversation')} = {_column(Conversation, 'id')}"
    f" AND {_column(Follow, 'user')} = %s)"
)


_READ_AT = (
    f"SELECT {_column(ConversationRead, 'read_at')} FROM {_table(ConversationRead)}"  # noqa: S608 (our names)
    f" WHERE {_column(ConversationRead, 'conversation')} = {_column(Conversation, 'id')}"
    f" AND {_column(ConversationRead, 'user')} = %s"
)


def for_page(user: User) -> QuerySet[Conversation]:
    """Conversations with what their page needs besides, in the same query: the mailbox, the
    assignee, the newest activity (for the live stamp), whether `user` follows it and when
    `user` last read it (`read_at`, None if never)."""
    return Conversation.objects.select_related("mailbox", "assignee").annotate(
        last_activity_id=RawSQL(_NEWEST_ACTIVITY, (), output_field=BigIntegerField()),  # noqa: S611
        followed=RawSQL(_FOLLOWED, (user.pk,), output_field=BooleanField()),  # noqa: S611
        read_at=RawSQL(_READ_AT, (user.pk,), output_field=DateTimeField()),  # noqa: S611
    )


def conversation_stamp(conversation: Conversation) -> str:
    """Changes whenever what the conversation page shows changes: a message arrives or is
    sent, or anyone assigns, tags, snoozes, changes the status or writes a note (each of
    those leaves an activity). `conversation` comes from `for_page`."""
    return (
        f"{conversation.message_count}-{conversation.last_activity_id or 0}-{conversation.status}"
    )


def sender_token(keys: WorkspaceKeys, address: str) -> int:
    """The blind token a trusted sender is kept under (the address is never stored)."""
    return keys.search_token("trusted-sender:" + address.strip().lower())


def trusted_senders(keys: WorkspaceKeys, workspace: Workspace, addresses: list[str]) -> set[str]:
    """Those of `addresses` whose remote images the team chose to always show."""
    tokens = {sender_token(keys, a): a.lower() for a in addresses if a}
    if not tokens:
        return set()  # most pages: no message with remote images, nothing to ask
    found = TrustedSender.objects.filter(
        workspace=workspace, address_token__in=list(tokens)
    ).values_list("address_token", flat=True)
    return {tokens[t] for t in found}
