"""What a delivery says: ids and metadata always; content only where the admin ticked it.

Every payload has the same envelope:

    {"id": <delivery id>, "event": "message.received", "created_at": "<ISO 8601>",
     "workspace": {"id": 3, "slug": "lycee-verne"}, "data": {...}}
"""

from datetime import datetime

from django.conf import settings
from django.urls import reverse

from inbox.mail.parsing import ParsedMessage
from inbox.models import Conversation, Message, Note, Outgoing


def conversation_data(conversation: Conversation) -> dict:
    return {
        "id": conversation.pk,
        "mailbox_id": conversation.mailbox_id,
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        "url": settings.SITE_URL + reverse("conversation", args=[conversation.pk]),
    }


def _person(address) -> dict | None:
    return {"name": address.name, "address": address.address} if address else None


def message_data(message: Message, headers: ParsedMessage | None, *, content: bool) -> dict:
    data = {
        "id": message.pk,
        "direction": message.direction,
        "received_at": _iso(message.received_at),
        "has_attachments": bool(headers and headers.has_attachments),
    }
    if content and headers is not None:
        data |= {
            "subject": headers.subject,
            "from": _person(headers.from_),
            "to": [_person(a) for a in headers.to],
            "cc": [_person(a) for a in headers.cc],
            "snippet": headers.snippet,
        }
    return data


def note_data(note: Note, body: str | None) -> dict:
    data = {"id": note.pk, "author_id": note.author_id, "created_at": _iso(note.created_at)}
    if body is not None:
        data["text"] = body
    return data


def outgoing_data(outgoing: Outgoing) -> dict:
    return {
        "id": outgoing.pk,
        "kind": outgoing.kind,
        "mailbox_id": outgoing.mailbox_id,
        "author_id": outgoing.author_id,
        "sent_at": _iso(outgoing.sent_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
