"""Decrypt exactly what one page shows, into plain objects for the templates."""

from dataclasses import dataclass
from datetime import datetime

from inbox.models import Conversation, Message
from inbox.sealing import conversation_row, message_row, open_json
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


def conversation_summary(keys: WorkspaceKeys, conversation: Conversation) -> dict:
    return open_json(
        keys,
        conversation.summary_sealed,
        field="conversation.summary",
        row=conversation_row(conversation.pk),
    )


def conversation_rows(
    keys: WorkspaceKeys, conversations: list[Conversation]
) -> list[ConversationRow]:
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
                status_label=c.get_status_display(),
                assignee=c.assignee.display_name if c.assignee_id and c.assignee else "",
                last_message_at=c.last_message_at,
                message_count=c.message_count,
                has_attachments=c.has_attachments,
            )
        )
    return rows


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


def message_view(keys: WorkspaceKeys, message: Message) -> MessageView:
    row = message_row(message.mailbox_id, message.provider_key)
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
        thread_reason=message.get_thread_reason_display(),
        attachments=[],
    )
