"""Forwarding to a third party with an internal note.

The forward itself (the original's header block, text and files, plus any file added in the
composer) is composed by `inbox.mail.compose`. The note is for the team, never sent: when the
forward is queued it is added to the conversation's trail as a note that says to whom the
message went; "Undo" takes it back with the draft (`inbox.actions.holding.outgoing_unqueue`).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import User
from inbox.actions.triage import note_add
from inbox.mail.addresses import display_addresses
from inbox.mail.sending import outgoing_content
from inbox.models import Note, Outgoing, OutgoingKind

MAX_NOTE_CHARS = 20_000


def forward_note_add(*, outgoing: Outgoing, author: User) -> Note | None:
    """The forward's internal note, in the conversation's trail, naming the recipients."""
    if outgoing.kind != OutgoingKind.FORWARD or outgoing.conversation_id is None:
        return None
    content = outgoing_content(outgoing, keys_for(outgoing.workspace))
    text = (content.get("note") or "").strip()[:MAX_NOTE_CHARS]
    if not text:
        return None
    people = [*content.get("to", []), *content.get("cc", []), *content.get("bcc", [])]
    body = (
        text
        + "\n\n"
        + _("(Forwarded to %(recipients)s)") % {"recipients": display_addresses(people)}
    )
    note = note_add(conversation=outgoing.conversation, author=author, body=body)
    Outgoing.objects.filter(pk=outgoing.pk).update(note=note)
    outgoing.note = note
    return note
