"""Per-mailbox signatures (legal footers) as sending reads them."""

from __future__ import annotations

from accounts.keys import keys_for
from inbox.mail.sealing import mailbox_row
from inbox.models import Mailbox
from trupeo.crypto import WorkspaceKeys


def mailbox_signature(mailbox: Mailbox, keys: WorkspaceKeys | None = None) -> str:
    """The signature appended to mail sent from `mailbox` ("" when none)."""
    if not mailbox.signature_sealed:
        return ""
    keys = keys or keys_for(mailbox.workspace)
    return (
        keys.open_text(
            mailbox.signature_sealed, field="mailbox.signature", row=mailbox_row(mailbox.pk)
        )
        or ""
    )
