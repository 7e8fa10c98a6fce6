"""The composer's services: opening a draft, and the two checks made before it is sent.

* The draft guard: the composer carries a "seen up to" marker (the newest message and note of
  the conversation when it was shown); sending first lists what arrived since, and only a
  second press, after the person has seen it, sends ("nobody answers blind").
* New outside recipients: an address that is neither in the conversation nor the team's own
  (a member, a shared address, or a shared address's domain) is named and must be confirmed;
  for a new message (no conversation yet), every address outside the team. The warning says
  why: a domain nobody in the conversation writes from, or a new person at a known domain.
* The requester copied on a reply to a third party (a known leak of shared inboxes): the
  person who opened the conversation is in Cc or Bcc of a message addressed to someone else
  from outside, e.g. reply-all to the supplier or the lawyer who joined the thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.mail import rich_text
from inbox.mail.sealing import note_row, open_json, stored_message_row
from inbox.mail.sending import outgoing_attach, outgoing_content, outgoing_create, outgoing_update
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
from trupeo.storage import read_sealed

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
    mailbox = conversation.mailbox
    if mailbox.workspace_id == conversation.workspace_id:
        mailbox.workspace = conversation.workspace  # read once, not again for the new draft
    return outgoing_create(
        mailbox=mailbox,
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
    # `sealed_as` names the sealed row: deferred, it would cost a query per message.
    for message in Message.objects.filter(conversation=conversation).only(
        "mailbox_id", "provider_key", "sealed_as", "envelope_sealed"
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


@dataclass(frozen=True)
class RecipientWarning:
    address: str
    name: str
    reason: str  # "new_domain", "new_person", "outside_team" or "requester_copied"
    field: str  # the form field that confirms it: "confirm_outside" or "confirm_copy"
    others: tuple[str, ...] = ()  # for "requester_copied": whom the message is addressed to

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def requester_addresses(keys: WorkspaceKeys, conversation: Conversation) -> set[str]:
    """Who opened the conversation: the sender (and Reply-To) of its first received message."""
    first = (
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
        .order_by("received_at", "id")
        .first()
    )
    if first is None:
        return set()
    row = stored_message_row(first)
    envelope = open_json(keys, first.envelope_sealed, field="message.envelope", row=row)
    people = [envelope.get("from") or {}, *(envelope.get("reply_to") or [])]
    return {p["address"].strip().lower() for p in people if p.get("address")}


def recipient_warnings(outgoing: Outgoing) -> list[RecipientWarning]:
    """What to confirm about the recipients before this message leaves (see the docstring)."""
    keys = keys_for(outgoing.workspace)
    content = outgoing_content(outgoing, keys)
    people = [*content.get("to", []), *content.get("cc", []), *content.get("bcc", [])]
    names = {p["address"]: p.get("name") or "" for p in people}
    team, domains = _ours(outgoing.workspace_id)
    conversation = outgoing.conversation if outgoing.conversation_id else None
    known = known_addresses(keys, conversation) if conversation is not None else set()
    known_domains = {a.rpartition("@")[2] for a in known}
    warnings = []
    for address in names:
        domain = address.rpartition("@")[2]
        if address in known or address in team or domain in domains:
            continue
        if conversation is None:
            reason = "outside_team"
        else:
            reason = "new_person" if domain in known_domains else "new_domain"
        warnings.append(RecipientWarning(address, names[address], reason, "confirm_outside"))
    if conversation is not None:
        requester = requester_addresses(keys, conversation)
        addressed = [p["address"] for p in content.get("to", [])]
        third = [
            a
            for a in addressed
            if a not in requester and a not in team and a.rpartition("@")[2] not in domains
        ]
        if third and not requester.intersection(addressed):
            for address in names:
                if address in requester:
                    warnings.append(
                        RecipientWarning(
                            address,
                            names[address],
                            "requester_copied",
                            "confirm_copy",
                            tuple(third),
                        )
                    )
    return warnings


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


# --- rich text ----------------------------------------------------------------------------------


def draft_rich_text(*, outgoing: Outgoing, html: str) -> tuple[str, str]:
    """What the editor posted, made safe: (HTML with its images as `cid:` parts of the draft,
    the plain-text alternative). Pasted and dropped images are sealed as the draft's files."""
    cleaned = rich_text.clean_composed_html(html)
    if rich_text.is_empty(cleaned):
        return "", ""
    cleaned, images = rich_text.extract_inline_images(cleaned)
    for image in images:
        outgoing_attach(
            outgoing=outgoing,
            filename=f"image-{image.token[:8]}.{image.content_type.rpartition('/')[2]}",
            content_type=image.content_type,
            size=len(image.data),
            chunks=[image.data],
            inline_token=image.token,
        )
    return cleaned, rich_text.html_to_text(cleaned)


def draft_editor_html(outgoing: Outgoing, keys: WorkspaceKeys, content: dict) -> str:
    """The draft's HTML for the editor, its images inline as data: URLs (all the CSP allows)."""
    html = content.get("html") or ""
    used = rich_text.cid_tokens(html)
    images = {
        a["token"]: (
            a["content_type"],
            read_sealed(a["key"], keys, field="outgoing.attachment", row=a["row"]),
        )
        for a in content.get("attachments") or []
        if a.get("inline") and a["token"] in used
    }
    return rich_text.with_data_images(html, images)


def draft_quoted_text(outgoing: Outgoing, keys: WorkspaceKeys, content: dict) -> str:
    """The quoted original under a reply: as the person edited it, else the answered text."""
    if content.get("quote") is not None:
        return content["quote"]
    message = Message.objects.filter(
        pk=content.get("reply_to_message_id") or 0, mailbox_id=outgoing.mailbox_id
    ).first()
    if message is None:
        return ""
    return (
        keys.open_text(message.text_sealed, field="message.text", row=stored_message_row(message))
        or ""
    )
