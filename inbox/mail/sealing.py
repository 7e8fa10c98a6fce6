"""Where each sealed inbox value lives, and how it is sealed and opened.

A sealed value is bound to its workspace, its field and its row (see `trupeo.crypto`). Rows are
named here, once: a message by its provider identity (known before the row is inserted), the
other records by their primary key.
"""

import json
import logging
from typing import Any

from trupeo.crypto import Bytes, CryptoError, WorkspaceKeys

logger = logging.getLogger(__name__)


def message_row(mailbox_id: int, provider_key: str) -> str:
    """The row of a message's sealed values: its mailbox and the key it arrived under."""
    return f"message:{mailbox_id}:{provider_key}"


def stored_message_row(message) -> str:
    """The row of a stored Message (bound to `sealed_as`, never to the current provider key)."""
    return message_row(message.mailbox_id, message.sealed_as)


def attachment_row(message_row_: str, index: int) -> str:
    return f"{message_row_}:attachment:{index}"


def stored_attachment_row(attachment) -> str:
    """The row of a stored Attachment (its message loaded)."""
    message = attachment.message
    return attachment_row(stored_message_row(message), attachment.position)


def conversation_row(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def note_row(note_id: int) -> str:
    return f"note:{note_id}"


def mailbox_row(mailbox_id: int) -> str:
    return f"mailbox:{mailbox_id}"


def folder_row(folder_id: int) -> str:
    return f"folder:{folder_id}"


def tag_row(tag_id: int) -> str:
    return f"tag:{tag_id}"


def rule_row(rule_id: int) -> str:
    return f"rule:{rule_id}"


def saved_reply_row(saved_reply_id: int) -> str:
    return f"saved_reply:{saved_reply_id}"


def outgoing_row(outgoing_id: int) -> str:
    return f"outgoing:{outgoing_id}"


def satisfaction_row(rating_id: int) -> str:
    return f"satisfaction:{rating_id}"


def seal_json(keys: WorkspaceKeys, value: Any, *, field: str, row: str) -> bytes:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return keys.seal(data, field=field, row=row)


def open_json(keys: WorkspaceKeys, blob: Bytes, *, field: str, row: str) -> Any:
    return json.loads(keys.open(blob, field=field, row=row))


def message_envelope_or_none(keys: WorkspaceKeys, message) -> dict | None:
    """A stored message's envelope, or None (logged) when it does not open: a sweep over
    many messages (backfill, erasure) skips the one bad row rather than stopping."""
    try:
        return open_json(
            keys, message.envelope_sealed, field="message.envelope", row=stored_message_row(message)
        )
    except CryptoError:
        logger.warning("message %s: envelope does not open; skipped", message.pk)
        return None
