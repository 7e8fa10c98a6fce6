"""Per-mailbox signatures (legal footers), sealed like every text of the workspace."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from inbox.mail.sealing import mailbox_row
from inbox.models import Mailbox

MAX_SIGNATURE_CHARS = 4000


def mailbox_signature_set(*, mailbox: Mailbox, signature: str) -> None:
    """Replace the signature; an empty one removes it."""
    text = (signature or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if len(text) > MAX_SIGNATURE_CHARS:
        raise ValidationError(
            _("A signature may have %(limit)s characters at most.")
            % {"limit": MAX_SIGNATURE_CHARS},
            code="too_long",
        )
    mailbox.signature_sealed = (
        keys_for(mailbox.workspace).seal_text(
            text, field="mailbox.signature", row=mailbox_row(mailbox.pk)
        )
        if text.strip()
        else None
    )
    mailbox.save(update_fields=["signature_sealed"])
