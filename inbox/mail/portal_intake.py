"""Mail written on the requester portal, taken in as if it had arrived by mail.

The portal composes an ordinary RFC 5322 message from the requester (From: them, To: the
shared address) and hands it here; it goes through the same steps as synced mail (`ingest_batch`:
parsed, threaded by its In-Reply-To / References, sealed, indexed, `mail_stored` sent), so a
reply reopens its conversation and its assignee hears of it like any inbound mail. It has no
folder: it never was on the mail server.
"""

import secrets
from datetime import datetime

from django.utils import timezone

from inbox.mail.ingest import IngestResult, RawMail, ingest_batch
from inbox.models import Mailbox, Message

PROVIDER_PREFIX = "portal:"


def portal_message_take(
    *, mailbox: Mailbox, raw: bytes, received_at: datetime | None = None
) -> Message:
    """Store `raw` in `mailbox` as an inbound message; the stored row."""
    key = PROVIDER_PREFIX + secrets.token_hex(16)
    result: IngestResult = ingest_batch(
        mailbox=mailbox,
        folder=None,
        mails=[RawMail(provider_key=key, raw=raw, received_at=received_at or timezone.now())],
    )
    if result.created != 1:
        raise RuntimeError("the portal message was not stored")
    return Message.objects.select_related("conversation").get(mailbox=mailbox, provider_key=key)
