"""The composer's services: opening a draft, and the two checks made before it is sent.

* The draft guard: the composer carries a "seen up to" marker (the newest message and note of
  the conversation when it was shown); sending first lists what arrived since, and only a
  second press, after the person has seen it, sends ("nobody answers blind").
* New outside recipients: an address that is neither in the conversation nor the team's own
  (a member, a shared address, or a shared address's domain) is named and must be confirmed;
  for a new message (no conversation yet), every address outside the team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.mail.sealing import note_row, open_json, stored_message_row
from inbox.mail.sending import outgoing_content, outgoing_create, outgoing_update
from inbox.models import (
    Conversation,
    Direction,
    Mailbox,
    Message,
    Note,
    Outgoing,
    OutgoingKind,
    SendState,
)
from inbox.selectors.signatures import mailbox_signature
from trupeo.crypto import WorkspaceKeys

_MARKER = re.compile(r"^m(\d+)-n(\d+)$")
SNIPPET_CHARS = 280


# --- opening ----------------------------------------------------------------------------------


def answered_message(conversation: Conversation, message_id: int | None = None) -> Message | None:
    """The message a reply answers: the one named (in this conversation), else the newest
    received one, else the newest."""
    messages = Message.objects.filter(conversation=conversation)
    if message_id is not None:
        return messages.filter(pk=message_id).first()
    newest = messages.order_by("-received_at", "-id")
    return newest.filter(direction=Direction.INBOUND).first() or newest.first()


def draft_open(
    *, conversation: Conversation, author: User, kind: str, message: Message
) -> Outgoing:
    """The author's draft of this kind answering `message`, resumed if it exists, else new."""
    keys = keys_for(conversation.workspace)
    drafts = Outgoing.objects.filter(
        conversation=conversation, author=author, kind=kind, state=SendState.DRAFT
    ).order_by("-updated_at")
    for draft in drafts:
        if outgoing_content(draft, keys).get("reply_to_message_id") == message.pk:
            return draft
    return outgoing_create(
        mailbox=conversation.mailbox,
        conversation=conversation,
        author=author,
        kind=kind,
        reply_to_message=message,
        signature=mailbox_signature(conversation.mailbox, keys),
    )


def draft_new(*, mailbox: Mailbox, author: User) -> Outgoing:
    return outgoing_create(
        mailbox=mailbox,
        conversation=None,
        author=author,
        kind=OutgoingKind.NEW,
        to=[],
        cc=[],
        subject="",
        signature=mailbox_signature(mailbox),
    )


def draft_refresh_signature(*, outgoing: Outgoing) -> Outgoing:
    """Sent with the mailbox's signature of the moment, even if it changed since the draft."""
    return outgoing_update(outgoing=outgoing, signature=mailbox_signature(outgoing.mailbox))


# --- the draft guard ---------------------------------------------------------------------------


def seen_marker(conversation: Conversation) -> str:
    """'m<newest message id>-n<newest note id>': what the person has in front of them."""
    newest_message = Message.objects.filter(conversation=conversation).aggregate(m=Max("id"))["m"]
    newest_note = Note.objects.filter(conversation=conversation).aggregate(n=Max("id"))["n"]
    return f"m{newest_message or 0}-n{newest_note or 0}"


def valid_marker(marker: str) -> bool:
    return bool(_MARKER.match(marker or ""))


def _parse_marker(marker: str) -> tuple[int, int]:
    match = _MARKER.match((marker or "").strip())
    # No marker, or a damaged one: everything counts as unseen, so the person is asked.
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@dataclass(frozen=True)
class Arrival:
    kind: str  # "message" or "note"
    who: str
    when: datetime
    text: str


def arrived_since(
    keys: WorkspaceKeys, conversation: Conversation, marker: str, *, limit: int = 10
) -> list[Arrival]:
    """Messages and notes added to the conversation after `marker`, oldest first."""
    message_id, note_id = _parse_marker(marker)
    arrivals = []
    for message in Message.objects.filter(conversation=conversation, pk__gt=message_id).order_by(
        "-id"
    )[:limit]:
        row = stored_message_row(message)
        envelope = open_json(keys, message.envelope_sealed, field="message.envelope", row=row)
        sender = envelope.get("from") or {}
        text = keys.open_text(message.text_sealed, field="message.text", row=row) or ""
        arrivals.append(
            Arrival(
                kind="message",
                who=sender.get("name") or sender.get("address") or "",
                when=message.received_at,
                text=_snippet(text),
            )
        )
    for note in (
        Note.objects.filter(conversation=conversation, pk__gt=note_id)
        .select_related("author")
        .order_by("-id")[:limit]
    ):
        arrivals.append(
            Arrival(
                kind="note",
                who=note.author.display_name if note.author else "",
                when=note.created_at,
                text=_snippet(
                    keys.open_text(note.body_sealed, field="note.body", row=note_row(note.pk)) or ""
                ),
            )
        )
    return sorted(arrivals, key=lambda a: a.when)


def _snippet(text: str) -> str:
    # The new words, not the quote of what was already there.
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    flat = " ".join(" ".join(lines).split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


# --- outside recipients ------------------------------------------------------------------------


def known_addresses(keys: WorkspaceKeys, conversation: Conversation) -> set[str]:
    """Every address already in the conversation's messages (lower-case)."""
    known: set[str] = set()
    for message in Message.objects.filter(conversation=conversation).only(
        "mailbox_id", "provider_key", "envelope_sealed"
    ):
        row = stored_message_row(message)
        envelope = open_json(keys, message.envelope_sealed, field="message.envelope", row=row)
        for person in (
            envelope.get("from") or {},
            *(envelope.get("to") or []),
            *(envelope.get("cc") or []),
            *(envelope.get("reply_to") or []),
        ):
            if person.get("address"):
                known.add(person["address"].strip().lower())
    return known


def _ours(workspace_id: int) -> tuple[set[str], set[str]]:
    """The team's addresses (members, shared addresses) and the shared addresses' domains."""
    shared = {
        a.lower()
        for a in Mailbox.objects.filter(workspace_id=workspace_id).values_list("address", flat=True)
    }
    members = {
        e.lower()
        for e in Membership.objects.filter(workspace_id=workspace_id).values_list(
            "user__email", flat=True
        )
    }
    return shared | members, {a.rpartition("@")[2] for a in shared}


def new_outside_recipients(outgoing: Outgoing) -> list[str]:
    """Recipients who are not the team's and, for a reply or forward, new to the conversation.

    A new message has no conversation to compare with: every outside address is named, as a
    mistyped or pasted list would otherwise leave without a second look."""
    keys = keys_for(outgoing.workspace)
    content = outgoing_content(outgoing, keys)
    addresses = [
        a["address"]
        for a in (*content.get("to", []), *content.get("cc", []), *content.get("bcc", []))
    ]
    known = known_addresses(keys, outgoing.conversation) if outgoing.conversation_id else set()
    team, domains = _ours(outgoing.workspace_id)
    return [
        a
        for a in addresses
        if a not in known and a not in team and a.rpartition("@")[2] not in domains
    ]
