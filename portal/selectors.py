"""What a signed-in requester may see, and nothing else.

The rule (README, "The requester portal"): a requester's *scopes* are their own address plus the
addresses or "@domains" delegated to them. A message is shown when an address of a scope is its
sender (From) or among its To / Cc recipients; never its Bcc, never a note, never a message of
the conversation they were not part of (a teammate's forward to a third party, the third
party's answer). A conversation is listed when it holds at least one such message, lives in a
mailbox shown in the portal, and is not spam.

Candidates come from the blind index (the "from:" and "to:" tokens of `inbox.mail.search`,
which cover To and Cc) and are confirmed by decrypting their envelopes, as search confirms.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.exceptions import BadRequest
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import pgettext_lazy

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.mail.sealing import (
    open_json,
    stored_attachment_row,
    stored_message_row,
)
from inbox.models import Attachment, Conversation, Direction, Mailbox, Message, Status
from inbox.selectors.satisfaction import conversation_rating
from portal.addresses import address_token, index_word, matches, normalise
from portal.models import Delegation, PortalProfile, PortalSettings
from trupeo.crypto import WorkspaceKeys
from trupeo.params import parse_id

PAGE_SIZE = 25
# Candidate conversations read at most per page: false matches of the truncated index are rare.
SCAN_LIMIT = PAGE_SIZE * 4

STATUS_WORDS = {
    Status.OPEN: pgettext_lazy("a request on the portal", "Received"),
    Status.PENDING: pgettext_lazy("a request on the portal", "In progress"),
    Status.CLOSED: pgettext_lazy("a request on the portal", "Resolved"),
}


@dataclass(frozen=True)
class Scope:
    target: str  # an address, or "@domain"
    can_reply: bool
    own: bool = False


@dataclass
class Viewer:
    """A signed-in requester: whose conversations they see and where they may reply."""

    workspace: Workspace
    keys: WorkspaceKeys
    address: str
    scopes: list[Scope] = field(default_factory=list)
    mailbox_ids: list[int] = field(default_factory=list)
    # The workspace's own addresses: in every conversation (To of what arrives, From of every
    # answer), so they never make a message visible, and never sign anyone in.
    own: frozenset[str] = frozenset()


def portal_settings(workspace: Workspace) -> PortalSettings | None:
    return PortalSettings.objects.filter(workspace=workspace).first()


def portal_mailbox_ids(workspace: Workspace) -> list[int]:
    found = PortalSettings.mailboxes.through.objects.filter(
        portalsettings__workspace=workspace, mailbox__workspace=workspace
    )
    return sorted(found.values_list("mailbox_id", flat=True))


def delegations_of(keys: WorkspaceKeys, workspace: Workspace, address: str) -> list[Scope]:
    rows = Delegation.objects.filter(
        workspace=workspace, delegate_token=address_token(keys, address), revoked_at=None
    )
    scopes = []
    for row in rows:
        content = delegation_content(keys, row)
        if content.get("delegate") == normalise(address):  # the token is blind: confirm
            scopes.append(Scope(content["target"], row.can_reply))
    return scopes


def delegation_content(keys: WorkspaceKeys, delegation: Delegation) -> dict:
    return open_json(
        keys, delegation.content_sealed, field="portal.delegation", row=delegation_row(delegation)
    )


def delegation_row(delegation: Delegation) -> str:
    return f"portal_delegation:{delegation.public_id}"


def own_addresses(workspace: Workspace) -> frozenset[str]:
    return frozenset(
        normalise(a)
        for a in Mailbox.objects.filter(workspace=workspace).values_list("address", flat=True)
    )


def viewer_for(workspace: Workspace, address: str) -> Viewer:
    """Who `address` is on the portal. A shared address of the workspace is nobody: whoever can
    read its mail must not see every customer's conversations through the portal."""
    keys = keys_for(workspace)
    address = normalise(address)
    own = own_addresses(workspace)
    scopes = []
    if address not in own:
        delegated = delegations_of(keys, workspace, address)
        scopes = [Scope(address, True, own=True), *(s for s in delegated if s.target not in own)]
    return Viewer(
        workspace=workspace,
        keys=keys,
        address=address,
        scopes=scopes,
        mailbox_ids=portal_mailbox_ids(workspace),
        own=own,
    )


def _scope_filter(viewer: Viewer) -> Q:
    wanted = Q(pk__in=[])
    for scope in viewer.scopes:
        word = index_word(scope.target)
        for prefix in ("from:", "to:"):
            token = viewer.keys.search_token(prefix + word)
            wanted |= Q(search_tokens__contains_all=[token])
    return wanted


def candidate_messages(viewer: Viewer) -> QuerySet[Message]:
    return Message.objects.filter(
        workspace=viewer.workspace, mailbox_id__in=viewer.mailbox_ids
    ).filter(_scope_filter(viewer))


def envelope_of(keys: WorkspaceKeys, message: Message) -> dict:
    return open_json(
        keys, message.envelope_sealed, field="message.envelope", row=stored_message_row(message)
    )


def scope_of(viewer: Viewer, envelope: dict) -> Scope | None:
    """The scope that lets the viewer see a message with this envelope (their own first)."""
    people = [envelope.get("from") or {}, *(envelope.get("to") or []), *(envelope.get("cc") or [])]
    addresses = [a for p in people if (a := p.get("address")) and normalise(a) not in viewer.own]
    for scope in viewer.scopes:
        if any(matches(scope.target, a) for a in addresses):
            return scope
    return None


def visible_conversations(viewer: Viewer) -> QuerySet[Conversation]:
    ids = candidate_messages(viewer).values("conversation_id")
    return Conversation.objects.filter(
        workspace=viewer.workspace, mailbox_id__in=viewer.mailbox_ids, pk__in=ids
    ).exclude(status=Status.SPAM)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def cursor_of(conversation: Conversation) -> str:
    return f"{(conversation.last_message_at - _EPOCH) // _MICRO}_{conversation.pk}"


def cursor_read(cursor: str) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    micros, _sep, pk = cursor.partition("_")
    if not (micros.isascii() and micros.isdigit() and len(micros) <= 18) or parse_id(pk) is None:
        raise BadRequest("This page link is broken.")
    try:
        return _EPOCH + int(micros) * _MICRO, int(pk)
    except OverflowError:
        raise BadRequest("This page link is broken.") from None


@dataclass(frozen=True)
class ConversationEntry:
    id: int
    reference: str
    subject: str
    status: str
    status_label: str
    last_message_at: datetime
    read_only: bool


def reference(conversation: Conversation) -> str:
    """The number a requester quotes: the conversation's id, padded."""
    return f"{conversation.pk:06d}"


def conversation_list(viewer: Viewer, *, after: str) -> tuple[list[ConversationEntry], str]:
    """One page of the viewer's conversations, newest first, and the next page's cursor."""
    rows = visible_conversations(viewer).order_by("-last_message_at", "-id")
    cursor = cursor_read(after)
    if cursor:
        stamp, pk = cursor
        rows = rows.filter(last_message_at__lte=stamp).filter(
            Q(last_message_at__lt=stamp) | Q(last_message_at=stamp, id__lt=pk)
        )
    candidates = list(rows[:SCAN_LIMIT])
    scopes = _confirmed_scopes(viewer, candidates)
    entries, last = [], None
    for conversation in candidates:
        if conversation.pk not in scopes:
            continue
        if len(entries) == PAGE_SIZE:
            return entries, cursor_of(last)
        entries.append(_entry(viewer, conversation, scopes[conversation.pk]))
        last = conversation
    more = len(candidates) == SCAN_LIMIT
    return entries, cursor_of(candidates[-1]) if more and candidates else ""


def _confirmed_scopes(viewer: Viewer, conversations: list[Conversation]) -> dict[int, list]:
    """For each conversation, the scopes its candidate messages really match (decrypted)."""
    found: dict[int, list[Scope]] = {}
    messages = candidate_messages(viewer).filter(conversation__in=conversations)
    for message in messages.only(
        "pk", "conversation_id", "mailbox_id", "sealed_as", "envelope_sealed"
    ):
        scope = scope_of(viewer, envelope_of(viewer.keys, message))
        if scope is not None:
            found.setdefault(message.conversation_id, []).append(scope)
    return found


def _entry(viewer: Viewer, conversation: Conversation, scopes: list[Scope]) -> ConversationEntry:
    summary = open_json(
        viewer.keys,
        conversation.summary_sealed,
        field="conversation.summary",
        row=f"conversation:{conversation.pk}",
    )
    return ConversationEntry(
        id=conversation.pk,
        reference=reference(conversation),
        subject=summary.get("subject") or "",
        status=conversation.status,
        status_label=str(STATUS_WORDS.get(conversation.status, "")),
        last_message_at=conversation.last_message_at,
        read_only=not any(s.can_reply for s in scopes),
    )


@dataclass(frozen=True)
class PortalMessage:
    id: int
    mine: bool  # sent by the viewer's scope (not by the team)
    sender: str
    date: datetime
    text: str
    files: list[dict]


@dataclass
class ConversationView:
    entry: ConversationEntry
    messages: list[PortalMessage]
    last_message_id: str  # the Message-ID a reply threads under
    can_reply: bool
    mailbox_id: int


def conversation_for(viewer: Viewer, conversation_id: int) -> ConversationView:
    """The conversation with only the messages the viewer may see; a 404 if none."""
    conversation = visible_conversations(viewer).filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404
    rows = (
        Message.objects.filter(conversation=conversation, workspace=viewer.workspace)
        .prefetch_related("attachments")
        .order_by("received_at", "id")
    )
    shown, scopes, last_id = [], [], ""
    for message in rows:
        envelope = envelope_of(viewer.keys, message)
        scope = scope_of(viewer, envelope)
        if scope is None:
            continue
        scopes.append(scope)
        last_id = envelope.get("message_id") or last_id
        sender = envelope.get("from") or {}
        shown.append(
            PortalMessage(
                id=message.pk,
                mine=any(matches(s.target, sender.get("address") or "") for s in viewer.scopes),
                sender=sender.get("name") or sender.get("address") or "",
                date=message.sent_at or message.received_at,
                text=viewer.keys.open_text(
                    message.text_sealed, field="message.text", row=stored_message_row(message)
                )
                or "",
                files=_files(viewer.keys, message),
            )
        )
    if not shown:
        raise Http404
    entry = _entry(viewer, conversation, scopes)
    return ConversationView(
        entry, shown, last_id, can_reply=not entry.read_only, mailbox_id=conversation.mailbox_id
    )


def _files(keys: WorkspaceKeys, message: Message) -> list[dict]:
    files = []
    for attachment in sorted(message.attachments.all(), key=lambda a: a.position):
        if attachment.is_inline:
            continue
        attachment.message = message
        meta = open_json(
            keys,
            attachment.meta_sealed,
            field="attachment.meta",
            row=stored_attachment_row(attachment),
        )
        files.append(
            {"id": attachment.pk, "name": meta.get("filename") or "", "size": attachment.size}
        )
    return files


def attachment_for(viewer: Viewer, attachment_id: int) -> tuple[Attachment, dict]:
    """An attachment of a message the viewer may see, with its metadata; else a 404."""
    attachment = (
        Attachment.objects.filter(
            pk=attachment_id,
            workspace=viewer.workspace,
            message__mailbox_id__in=viewer.mailbox_ids,
        )
        .exclude(message__conversation__status=Status.SPAM)
        .select_related("message")
        .first()
    )
    if attachment is None or scope_of(viewer, envelope_of(viewer.keys, attachment.message)) is None:
        raise Http404
    meta = open_json(
        viewer.keys,
        attachment.meta_sealed,
        field="attachment.meta",
        row=stored_attachment_row(attachment),
    )
    return attachment, meta


def visible_messages(viewer: Viewer, *, own_only: bool = False) -> list[Message]:
    """Every message the viewer may see (for their data download), oldest first."""
    scopes = [s for s in viewer.scopes if s.own] if own_only else viewer.scopes
    narrowed = Viewer(viewer.workspace, viewer.keys, viewer.address, scopes, viewer.mailbox_ids)
    conversations = visible_conversations(narrowed)
    result = []
    for message in (
        Message.objects.filter(conversation__in=conversations, workspace=viewer.workspace)
        .select_related("conversation")
        .order_by("received_at", "id")
        .iterator(chunk_size=200)
    ):
        if scope_of(narrowed, envelope_of(viewer.keys, message)) is not None:
            result.append(message)
    return result


def is_known(workspace: Workspace, address: str) -> bool:
    """Whether a sign-in link should be mailed: the address sees at least one conversation."""
    viewer = viewer_for(workspace, address)
    if not viewer.mailbox_ids or not viewer.scopes:
        return False
    entries, _next = conversation_list(viewer, after="")
    return bool(entries) or len(viewer.scopes) > 1


def profile_name(keys: WorkspaceKeys, workspace: Workspace, address: str) -> str:
    profile = PortalProfile.objects.filter(
        workspace=workspace, address_token=address_token(keys, address)
    ).first()
    if profile is None:
        return ""
    return keys.open(
        profile.name_sealed, field="portal.name", row=profile_row(workspace, address)
    ).decode()


def profile_row(workspace: Workspace, address: str) -> str:
    return f"portal_profile:{workspace.pk}:{normalise(address)}"


@dataclass(frozen=True)
class RatingState:
    """Satisfaction on the portal: whether the requester may rate, and their rating if any."""

    can_rate: bool
    rating: object  # inbox.selectors.satisfaction.RatingView, or None
    conversation: Conversation | None = None


def rating_state(viewer: Viewer, view: ConversationView) -> RatingState:
    """A closed conversation of a mailbox that asks for satisfaction may be rated once, by
    someone who may act on it (a read-only delegate only reads)."""
    conversation = (
        Conversation.objects.select_related("mailbox")
        .filter(pk=view.entry.id, workspace=viewer.workspace)
        .first()
    )
    if conversation is None or not conversation.mailbox.satisfaction:
        return RatingState(can_rate=False, rating=None)
    rating = conversation_rating(viewer.keys, conversation)
    can_rate = (
        rating is None
        and conversation.status == Status.CLOSED
        and not view.entry.read_only
        and _opened_by(viewer, conversation)
    )
    return RatingState(can_rate=can_rate, rating=rating, conversation=conversation)


def _opened_by(viewer: Viewer, conversation: Conversation) -> bool:
    """Whether the person who opened the conversation is the viewer (or someone whose
    conversations they may act on): someone who joined it later does not rate it."""
    first = (
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND)
        .order_by("received_at", "id")
        .first()
    )
    if first is None:
        return False
    envelope = envelope_of(viewer.keys, first)
    scope = scope_of(viewer, {"from": envelope.get("from") or {}})
    return scope is not None and scope.can_reply
