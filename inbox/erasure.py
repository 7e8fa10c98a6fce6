"""Erasing mail: one person within a workspace (GDPR erasure), or all of a workspace's mail.

Finding a person's messages without plaintext
---------------------------------------------
Addresses are sealed, so no query can compare them. Candidates come from three places, and
each candidate is then confirmed by decrypting its envelope and comparing the addresses:

- the blind index: at ingestion every message got the tokens "from:<address>" and
  "to:<address>" (To and Cc) for each full address (see `inbox.mail.search`); a message carrying
  either token for the person's address is a candidate;
- messages without index tokens (a message that could not be parsed has none);
- messages we sent (their Bcc is not indexed, and our own copies are few).

The index is a truncated HMAC, so a candidate may be a false match: decrypting removes it.
Nothing reaches the person's messages other than these three routes, so nothing is missed.
The comparison is on keyed digests of the addresses (`PersonReference`), so the same search
works from a deletion-ledger entry, which holds no address, after a backup is restored.

`person_mail_erase` then deletes each confirmed message with its attachments, its stored objects
(raw mail and attachment contents) and its index entries (they live on the message row);
drafts and outgoing mail addressed to the person go too. A conversation left empty is
deleted (with its notes and trail); a conversation that keeps other messages gets its
counters and sealed summary rebuilt from what remains, so the person's name and address do
not linger in the list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.inbox_version import workspace_touched
from inbox.mail.recount import conversation_recount, conversations_lock
from inbox.mail.sealing import (
    message_envelope_or_none,
    open_json,
    outgoing_row,
)
from inbox.mail.search import fold, words
from inbox.models import (
    Attachment,
    Conversation,
    Direction,
    Mailbox,
    Message,
    Outgoing,
    SatisfactionRating,
    Status,
)
from trupeo.crypto import CryptoError, WorkspaceKeys
from trupeo.storage import ObjectStore, object_store, workspace_prefix

logger = logging.getLogger(__name__)
BATCH = 500


def normalise_address(address: str) -> str:
    return fold(address.strip().lower())


@dataclass(frozen=True)
class PersonReference:
    """A person of one workspace without their address: a keyed digest of it (to confirm a
    message is theirs) and its blind index tokens (to find candidates). It can be kept
    outside the database (the deletion ledger) and still find their mail after a restore;
    it is meaningless without the workspace key, so it dies with the workspace."""

    digest: str
    tokens: tuple[int, ...]


def person_reference(*, workspace: Workspace, address: str) -> PersonReference:
    """Raises ValueError when `address` is not an email address."""
    wanted = normalise_address(address)
    if "@" not in wanted:
        raise ValueError("an email address is needed")
    keys = keys_for(workspace)
    whole = [w for w in words(address) if "@" in w]
    tokens = {keys.search_token(f"{prefix}{w}") for w in whole for prefix in ("from:", "to:")}
    return PersonReference(digest=keys.person_digest(wanted), tokens=tuple(sorted(tokens)))


def _addresses(envelope: dict) -> set[str]:
    found = set()
    people = [envelope.get("from"), *(envelope.get(k) or [] for k in ("to", "cc", "bcc"))]
    for entry in people:
        for person in entry if isinstance(entry, list) else [entry]:
            if person and person.get("address"):
                found.add(normalise_address(person["address"]))
    return found


def _involves(keys: WorkspaceKeys, person: PersonReference, addresses: Iterable[str]) -> bool:
    return any(keys.person_digest(address) == person.digest for address in addresses)


def messages_involving(*, workspace: Workspace, address: str) -> list[int]:
    """Ids of the messages of `workspace` from or to `address` (From, To, Cc or Bcc)."""
    return person_messages(
        workspace=workspace, person=person_reference(workspace=workspace, address=address)
    )


def person_messages(
    *, workspace: Workspace, person: PersonReference, stored_before: datetime | None = None
) -> list[int]:
    """Ids of the messages of `workspace` from or to the person (From, To, Cc or Bcc);
    only those stored before `stored_before` when given (a replayed erasure spares what the
    person sent after it)."""
    keys = keys_for(workspace)
    candidates = Q(search_tokens__isnull=True) | Q(direction=Direction.OUTBOUND)
    ids: set[int] = set()
    base = Message.objects.filter(workspace=workspace)
    if stored_before is not None:
        base = base.filter(created_at__lt=stored_before)
    # Either token suffices: one query per token (the lookup only knows "contains all").
    querysets = [base.filter(candidates)] + [
        base.filter(search_tokens__contains_all=[token]) for token in person.tokens
    ]
    seen: set[int] = set()
    for queryset in querysets:
        rows = queryset.only("id", "mailbox_id", "sealed_as", "envelope_sealed")
        for message in rows.iterator(chunk_size=BATCH):
            if message.pk in seen:
                continue
            seen.add(message.pk)
            envelope = message_envelope_or_none(keys, message)
            if envelope is None:
                continue
            if _involves(keys, person, _addresses(envelope)):
                ids.add(message.pk)
    return sorted(ids)


def _outgoing_involving(
    keys: WorkspaceKeys,
    workspace: Workspace,
    person: PersonReference,
    stored_before: datetime | None,
) -> list[int]:
    found = []
    rows = Outgoing.objects.filter(workspace=workspace, content_sealed__isnull=False)
    if stored_before is not None:
        rows = rows.filter(created_at__lt=stored_before)
    for outgoing in rows.only("id", "content_sealed").iterator(chunk_size=BATCH):
        try:
            content = open_json(
                keys,
                outgoing.content_sealed,
                field="outgoing.content",
                row=outgoing_row(outgoing.pk),
            )
        except CryptoError:
            continue
        recipients = {
            normalise_address(a.get("address", ""))
            for a in (*content.get("to", []), *content.get("cc", []), *content.get("bcc", []))
        }
        if _involves(keys, person, recipients):
            found.append(outgoing.pk)
    return found


@dataclass(frozen=True)
class ErasureResult:
    messages: int
    attachments: int
    objects: int
    conversations_deleted: int
    conversations_rebuilt: int
    outgoing: int


@dataclass(frozen=True)
class PersonMail:
    """What `person_mail_erase` would delete (found first, so it can be recorded first)."""

    message_ids: list[int]
    outgoing_ids: set[int]

    @property
    def nothing(self) -> bool:
        return not (self.message_ids or self.outgoing_ids)


def person_mail_find(
    *, workspace: Workspace, person: PersonReference, stored_before: datetime | None = None
) -> PersonMail:
    keys = keys_for(workspace)
    message_ids = person_messages(workspace=workspace, person=person, stored_before=stored_before)
    outgoing_ids = set(_outgoing_involving(keys, workspace, person, stored_before))
    outgoing_ids |= set(
        Outgoing.objects.filter(workspace=workspace, message_id__in=message_ids).values_list(
            "id", flat=True
        )
    )
    return PersonMail(message_ids=message_ids, outgoing_ids=outgoing_ids)


def _conversations_locked(
    workspace: Workspace, message_ids: list[int], touched: set[int]
) -> set[int]:
    """Lock the conversations holding these messages. A merge or a split may move messages
    between the read and the lock: read again under the locks until nothing new appears."""
    while True:
        conversations_lock(touched)
        now: set[int] = set()
        for chunk in _chunks(message_ids, BATCH):
            now |= set(
                Message.objects.filter(workspace=workspace, pk__in=chunk).values_list(
                    "conversation_id", flat=True
                )
            )
        if now <= touched:
            return touched
        touched |= now


def person_mail_erase(
    *, workspace: Workspace, found: PersonMail, store: ObjectStore | None = None
) -> ErasureResult:
    """Delete the messages and outgoing mail `person_mail_find` found, and what hangs off them.

    Called through `privacy.gdpr.deletion.person_erase`, which records the erasure first.
    """
    store = store or object_store()
    keys = keys_for(workspace)
    message_ids, outgoing_ids = found.message_ids, found.outgoing_ids
    object_keys: list[str] = []
    attachments = 0
    touched: set[int] = set()
    for chunk in _chunks(message_ids, BATCH):
        rows = Message.objects.filter(workspace=workspace, pk__in=chunk)
        object_keys += [k for k in rows.values_list("raw_object", flat=True) if k]
        touched |= set(rows.values_list("conversation_id", flat=True))
        files = Attachment.objects.filter(workspace=workspace, message_id__in=chunk)
        object_keys += [k for k in files.values_list("object_key", flat=True) if k]
        attachments += files.count()
    outgoing_rows = Outgoing.objects.filter(workspace=workspace, pk__in=outgoing_ids)
    object_keys += [k for k in outgoing_rows.values_list("raw_object", flat=True) if k]

    deleted_conversations = rebuilt = 0
    with transaction.atomic():
        touched = _conversations_locked(workspace, message_ids, touched)
        Outgoing.objects.filter(workspace=workspace, pk__in=outgoing_ids).delete()
        for chunk in _chunks(message_ids, BATCH):
            Attachment.objects.filter(workspace=workspace, message_id__in=chunk).delete()
            Message.objects.filter(workspace=workspace, pk__in=chunk).delete()
        # A rating's comment may be the person's words: it goes, the rating stays counted.
        SatisfactionRating.objects.filter(workspace=workspace, conversation_id__in=touched).update(
            comment_sealed=None
        )
        for conversation in Conversation.objects.filter(workspace=workspace, pk__in=touched):
            if not conversation.messages.exists():
                conversation.delete()
                deleted_conversations += 1
            else:
                conversation_recount(keys, conversation)
                rebuilt += 1
        if touched:  # open lists must not keep showing them (bumped on commit)
            workspace_touched(workspace.pk)
    # Objects after the rows: a crash in between leaves unreferenced ciphertext (which the
    # orphan sweep removes), never a row pointing at nothing.
    prefix = workspace_prefix(workspace.pk)
    for key in object_keys:
        if key.startswith(prefix):
            store.delete(key)
    logger.info("workspace %s: erased %d message(s) of one person", workspace.pk, len(message_ids))
    return ErasureResult(
        messages=len(message_ids),
        attachments=attachments,
        objects=len(object_keys),
        conversations_deleted=deleted_conversations,
        conversations_rebuilt=rebuilt,
        outgoing=len(outgoing_ids),
    )


# ------------------------------------------------------------------ closed conversations
# The retention policy deletes whole conversations closed before a cutoff, in batches, objects
# first: a crash between the objects and the rows leaves rows whose objects are gone (the
# conversation was due for deletion anyway, and the next run deletes the rows), never an
# object that no row names (which nothing would ever find again).


def closed_conversations(*, workspace_id: int, closed_before: datetime):
    """The workspace's conversations closed before `closed_before` (by the partial index)."""
    return Conversation.objects.filter(
        workspace_id=workspace_id,
        status=Status.CLOSED,
        closed_at__isnull=False,
        closed_at__lt=closed_before,
    )


def closed_conversations_count(*, workspace_id: int, closed_before: datetime) -> int:
    return closed_conversations(workspace_id=workspace_id, closed_before=closed_before).count()


def closed_conversations_next(
    *, workspace_id: int, closed_before: datetime, limit: int
) -> list[int]:
    """The next batch to delete, oldest ids first (a rerun takes up the same ones again)."""
    rows = closed_conversations(workspace_id=workspace_id, closed_before=closed_before)
    return list(rows.order_by("id").values_list("id", flat=True)[:limit])


@dataclass(frozen=True)
class ConversationsErased:
    conversations: int = 0
    messages: int = 0
    attachments: int = 0
    objects: int = 0


def conversations_objects_delete(
    *, workspace: Workspace, conversation_ids: list[int], store: ObjectStore | None = None
) -> int:
    """Step one: the stored objects (raw mail, attachments, outgoing copies) of these
    conversations. Idempotent: a missing object is no error."""
    store = store or object_store()
    prefix = workspace_prefix(workspace.pk)
    messages = Message.objects.filter(workspace=workspace, conversation_id__in=conversation_ids)
    keys = [k for k in messages.values_list("raw_object", flat=True) if k]
    files = Attachment.objects.filter(
        workspace=workspace, message__conversation_id__in=conversation_ids
    )
    keys += [k for k in files.values_list("object_key", flat=True) if k]
    outgoing = Outgoing.objects.filter(workspace=workspace, conversation_id__in=conversation_ids)
    keys += [k for k in outgoing.values_list("raw_object", flat=True) if k]
    # Only under the workspace's own prefix: a key from anywhere else is never ours to delete.
    return store.delete_many(k for k in keys if k.startswith(prefix))


def conversations_rows_delete(
    *, workspace: Workspace, conversation_ids: list[int]
) -> ConversationsErased:
    """Step two, in the caller's transaction: the rows, leaf first (notes, trail, tags,
    follows, notifications go with the conversation by their cascade)."""
    messages = Message.objects.filter(workspace=workspace, conversation_id__in=conversation_ids)
    files = Attachment.objects.filter(
        workspace=workspace, message__conversation_id__in=conversation_ids
    )
    counts = {"messages": messages.count(), "attachments": files.count()}
    Outgoing.objects.filter(workspace=workspace, conversation_id__in=conversation_ids).delete()
    Attachment.objects.filter(pk__in=list(files.values_list("pk", flat=True))).delete()
    messages.delete()
    conversations = Conversation.objects.filter(workspace=workspace, pk__in=conversation_ids)
    number = conversations.count()
    conversations.delete()
    if number:
        workspace_touched(workspace.pk)
    return ConversationsErased(conversations=number, **counts)


def workspace_mail_delete(*, workspace: Workspace, store: ObjectStore | None = None) -> int:
    """Every inbox row of the workspace and every stored object under its prefix.

    Rows go leaf first, in batches, so a big workspace never loads at once; the index
    entries live on the message rows. Returns how many objects were deleted.
    """
    store = store or object_store()
    for model in (Attachment, Outgoing, Message):
        _delete_in_batches(model.objects.filter(workspace=workspace))
    _delete_in_batches(Conversation.objects.filter(workspace=workspace))
    _delete_in_batches(Mailbox.objects.filter(workspace=workspace))
    return store.delete_prefix(workspace_prefix(workspace.pk))


def _delete_in_batches(queryset) -> None:
    while ids := list(queryset.values_list("pk", flat=True)[:BATCH]):
        queryset.model.objects.filter(pk__in=ids).delete()


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
