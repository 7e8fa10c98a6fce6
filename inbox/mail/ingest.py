"""Raw mail in, conversations out: parse, thread, seal, store — one batch at a time.

Every provider (IMAP, Gmail, Graph, the demo) hands batches of `RawMail` to `ingest_batch`,
which runs three steps: `batch_sort` (what is new), `prepare` each new mail (parse, index,
seal, write its objects: `inbox.mail.message_content`), `batch_store` (thread, one transaction of
rows). A big IMAP sync runs the same steps with the middle one in a worker (`inbox.mail.sync`).

It is idempotent: a provider key already stored is skipped, so a batch replayed after a crash
adds nothing twice. Sealed objects are written before the rows that point to them and the rows
in one transaction, so an interruption can leave an unreferenced object, never a row whose
content is missing. The caller advances its sync cursor only after this returns.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.keys import keys_for
from inbox.mail.arrivals import arrivals_handle
from inbox.mail.bulk_insert import ids_reserve, rows_insert
from inbox.mail.message_content import Prepared, address_json, prepare
from inbox.mail.parsing import ParsedMessage
from inbox.mail.recount import conversation_recount, conversations_for_update
from inbox.mail.rules import NewConversation
from inbox.mail.sealing import conversation_row, open_json, seal_json
from inbox.mail.signals import StoredMail
from inbox.mail.threads import Threader, message_id_token, subject_token
from inbox.models import (
    Attachment,
    Conversation,
    Direction,
    FolderRole,
    Mailbox,
    MailboxFolder,
    Message,
    Status,
    ThreadReason,
)
from trupeo.crypto import WorkspaceKeys
from trupeo.storage import ObjectStore, object_store

# History imported when a mailbox is connected arrives closed: the team starts from what is new.
HISTORY_AGE = timedelta(days=14)


@dataclass(frozen=True)
class RawMail:
    provider_key: str
    raw: bytes
    received_at: datetime | None = None  # the server's arrival time (IMAP INTERNALDATE)
    seen: bool = False
    flagged: bool = False
    thread_hint: str = ""  # the provider's thread id, where it has one
    conversation_id: int | None = None  # set for what we sent from a known conversation


@dataclass
class IngestResult:
    created: int = 0
    skipped: int = 0
    conversations_created: int = 0
    parse_problems: int = 0
    adopted: int = 0


def _direction(mailbox: Mailbox, folder: MailboxFolder | None, parsed: ParsedMessage) -> str:
    if folder is not None and folder.role == FolderRole.SENT:
        return Direction.OUTBOUND
    if parsed.from_ and parsed.from_.address == mailbox.address.lower():
        return Direction.OUTBOUND
    return Direction.INBOUND


def _counterpart(direction: str, parsed: ParsedMessage) -> dict:
    """The customer side of the conversation: who wrote in, or whom we wrote to."""
    if direction == Direction.INBOUND:
        return address_json(parsed.from_)
    first = next(iter(parsed.to), None) or next(iter(parsed.cc), None)
    return address_json(first)


def stored_keys(mailbox: Mailbox, keys: Sequence[str]) -> set[str]:
    """Which of these provider keys the mailbox already has."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            Message.objects.filter(
                mailbox=mailbox, provider_key__in=keys[start : start + 500]
            ).values_list("provider_key", flat=True)
        )
    return found


def raw_digest(keys: WorkspaceKeys, raw: bytes) -> int:
    return keys.search_token("raw:" + hashlib.sha256(raw).hexdigest())


def ingest_batch(
    *,
    mailbox: Mailbox,
    folder: MailboxFolder | None,
    mails: Sequence[RawMail],
    adopt_prefix: str | None = None,
    store: ObjectStore | None = None,
) -> IngestResult:
    """Store the new mails of a batch, all in this process; see the module docstring."""
    store = store or object_store()
    batch = batch_sort(mailbox=mailbox, folder=folder, mails=mails, adopt_prefix=adopt_prefix)
    if not batch.fresh:
        return batch.result
    prepared = batch_prepare(mailbox=mailbox, batch=batch, store=store)
    return batch_store(mailbox=mailbox, folder=folder, batch=batch, prepared=prepared, store=store)


@dataclass
class SortedBatch:
    fresh: list[RawMail]  # to store
    digests: list[int]  # of `fresh`, in order
    result: IngestResult  # what was skipped or re-keyed so far


def batch_sort(
    *,
    mailbox: Mailbox,
    folder: MailboxFolder | None,
    mails: Sequence[RawMail],
    adopt_prefix: str | None = None,
) -> SortedBatch:
    """Step 1: which mails of a batch are new. A provider key already stored is skipped.

    `adopt_prefix` is the provider-key prefix of the folder's current identity (IMAP:
    "folder:uidvalidity:"). A stored message of that folder with the same bytes but a key
    outside it — from before a UIDVALIDITY change, or sent by us before the server gave it a
    UID — is the same message: it is re-keyed here (committed), not stored twice.
    """
    result = IngestResult()
    keys = keys_for(mailbox.workspace)
    known = stored_keys(mailbox, [m.provider_key for m in mails])
    fresh: list[RawMail] = []
    for mail in mails:
        if mail.provider_key in known:
            result.skipped += 1
        else:
            known.add(mail.provider_key)  # a key twice in one batch is stored once
            fresh.append(mail)
    digests = [raw_digest(keys, m.raw) for m in fresh]
    if folder is not None and adopt_prefix is not None and fresh:
        fresh, digests = _adopt(folder, fresh, digests, adopt_prefix, result)
    return SortedBatch(fresh=fresh, digests=digests, result=result)


def batch_prepare(*, mailbox: Mailbox, batch: SortedBatch, store: ObjectStore) -> list[Prepared]:
    """Step 2 in this process (a big sync runs it in workers: `inbox.mail.preparing`)."""
    keys = keys_for(mailbox.workspace)
    return [
        prepare(keys, store, mailbox_id=mailbox.pk, provider_key=m.provider_key, raw=m.raw)
        for m in batch.fresh
    ]


@dataclass(eq=False)
class _InBatch:
    """What one conversation gathers while a batch is threaded, written when the batch is."""

    conversation: Conversation
    summary: dict  # opened once, sealed again once
    is_new: bool = False
    first_mail: ParsedMessage | None = None  # a new conversation's first mail in the batch
    customer_started: bool = False  # ... came in from a customer, not history: rules apply
    replied: bool = False  # the customer wrote again (followers hear of it)
    was_snoozed: bool = False  # as the customer's latest reply in the batch found it
    seen: dict | None = None  # a stored conversation's `_SEEN` fields as the batch read them


@dataclass
class _Rows:
    """The batch being built: conversations by object (new ones have no id yet), rows."""

    mailbox: Mailbox
    folder: MailboxFolder | None
    keys: WorkspaceKeys
    threader: Threader
    now: datetime
    threads: dict[int, _InBatch] = field(default_factory=dict)  # by id(conversation)
    replied: list[_InBatch] = field(default_factory=list)  # customer wrote again, first reply first
    messages: list[Message] = field(default_factory=list)
    headers: list[ParsedMessage] = field(default_factory=list)  # of each message, same order
    attachments: list[Attachment] = field(default_factory=list)

    def started(self) -> list[Conversation]:
        return [t.conversation for t in self.threads.values() if t.is_new]


def batch_store(
    *,
    mailbox: Mailbox,
    folder: MailboxFolder | None,
    batch: SortedBatch,
    prepared: Sequence[Prepared],
    store: ObjectStore,
) -> IngestResult:
    """Step 3 (after `prepare` of each fresh mail): thread, then write every row at once."""
    result = batch.result
    keys = keys_for(mailbox.workspace)
    prepared = _drop_filed_since(mailbox, batch, prepared, result)
    result.parse_problems += sum(bool(ready.headers.parse_problems) for ready in prepared)
    store.flush()  # every object durable before a row can point at it
    for attempt in range(1, _THREADING_ATTEMPTS + 1):
        rows = _rows_threaded(mailbox, folder, keys, batch, prepared)
        try:
            _rows_write(rows)
            break
        except _ConversationGone:
            if attempt == _THREADING_ATTEMPTS:
                raise
    result.conversations_created = len(rows.started())
    result.created = len(rows.messages)
    return result


# A conversation the batch threaded into was merged away or erased before the batch wrote:
# nothing is written, and the batch is threaded again against the rows as they are now.
_THREADING_ATTEMPTS = 3


class _ConversationGone(Exception):
    def __str__(self) -> str:
        return (
            "a conversation of the batch kept vanishing while it was written; the next sync retries"
        )


def _rows_threaded(
    mailbox: Mailbox,
    folder: MailboxFolder | None,
    keys: WorkspaceKeys,
    batch: SortedBatch,
    prepared: Sequence[Prepared],
) -> _Rows:
    threader = Threader(mailbox=mailbox, keys=keys)
    threader.prefetch([r.headers for r in prepared])
    rows = _Rows(mailbox=mailbox, folder=folder, keys=keys, threader=threader, now=timezone.now())
    for mail, ready, digest in zip(batch.fresh, prepared, batch.digests, strict=True):
        _thread_one(rows, mail, ready, digest)
    return rows


def _drop_filed_since(
    mailbox: Mailbox, batch: SortedBatch, prepared: Sequence[Prepared], result: IngestResult
) -> Sequence[Prepared]:
    """Sorted a moment ago, but a send may have filed one of these keys since (APPENDUID)."""
    known = stored_keys(mailbox, [m.provider_key for m in batch.fresh])
    if not known:
        return prepared
    kept = [i for i, m in enumerate(batch.fresh) if m.provider_key not in known]
    result.skipped += len(batch.fresh) - len(kept)
    batch.fresh = [batch.fresh[i] for i in kept]
    batch.digests = [batch.digests[i] for i in kept]
    return [prepared[i] for i in kept]


def _thread_one(rows: _Rows, mail: RawMail, ready: Prepared, digest: int) -> None:
    """Find (or start) the mail's conversation, fold the mail into it, add its rows."""
    mailbox, keys, threader, now = rows.mailbox, rows.keys, rows.threader, rows.now
    p = ready.headers
    received_at = mail.received_at or p.date or now
    direction = _direction(mailbox, rows.folder, p)
    conversation = None
    if mail.conversation_id is not None:  # what we sent: filed where it was written, if still there
        conversation = threader.conversation(mail.conversation_id)
        reason = ThreadReason.OUTBOUND
    if conversation is None:
        conversation, reason = threader.find(
            p, received_at=received_at, thread_hint=mail.thread_hint
        )
    if conversation is None:
        conversation = _conversation_start(mailbox, keys, p, received_at, mail.thread_hint)
        rows.threads[id(conversation)] = _InBatch(conversation, {}, is_new=True)
        threader.remember_conversation(conversation, _counterpart(direction, p).get("address", ""))
    thread = rows.threads.get(id(conversation))
    if thread is None:
        thread = rows.threads[id(conversation)] = _InBatch(
            conversation,
            _summary_open(keys, conversation),
            seen={name: getattr(conversation, name) for name in _SEEN},
        )
    history = is_history(mailbox, received_at)
    if thread.is_new and thread.first_mail is None:
        thread.first_mail = p
        thread.customer_started = direction == Direction.INBOUND and not history
    was_snoozed = conversation.snoozed_until is not None
    if _conversation_add(
        conversation,
        thread.summary,
        p,
        direction=direction,
        received_at=received_at,
        history=history,
    ):
        if not thread.replied:
            thread.replied = True
            rows.replied.append(thread)
        thread.was_snoozed = was_snoozed
    token = message_id_token(keys, p.message_id) if p.message_id else None
    threader.remember(token, conversation)
    message = _message_row(rows, conversation, mail, ready, digest)
    message.thread_reason, message.direction, message.message_id_token = reason, direction, token
    message.received_at = received_at
    rows.messages.append(message)
    rows.headers.append(p)
    rows.attachments.extend(
        Attachment(
            workspace_id=mailbox.workspace_id,
            message=message,  # saved before the attachments
            position=a.position,
            meta_sealed=a.meta_sealed,
            content_type=a.content_type,
            size=a.size,
            is_inline=a.is_inline,
            object_key=a.object_key,
        )
        for a in ready.attachments
    )


def _summary_open(keys: WorkspaceKeys, conversation: Conversation) -> dict:
    if not conversation.summary_sealed:
        return {}
    return open_json(
        keys,
        conversation.summary_sealed,
        field="conversation.summary",
        row=conversation_row(conversation.pk),
    )


def _message_row(
    rows: _Rows, conversation: Conversation, mail: RawMail, ready: Prepared, digest: int
) -> Message:
    """The message's row as prepared (its threading fields are set by the caller)."""
    p = ready.headers
    return Message(
        workspace_id=rows.mailbox.workspace_id,
        mailbox=rows.mailbox,
        conversation=conversation,
        folder=rows.folder,
        provider_key=mail.provider_key,
        sealed_as=mail.provider_key,
        envelope_sealed=ready.envelope_sealed,
        text_sealed=ready.text_sealed,
        html_sealed=ready.html_sealed,
        raw_object=ready.raw_object,
        raw_size=ready.raw_size,
        sent_at=p.date,
        is_seen=mail.seen,
        is_flagged=mail.flagged,
        has_parse_problems=bool(p.parse_problems),
        search_tokens=ready.tokens,
        raw_digest=digest,
        is_auto_reply=p.auto.is_auto_reply,
        is_bulk=p.auto.is_bulk,
        no_autoreply_reason=p.auto.reason,
    )


def _rows_write(rows: _Rows) -> None:
    """One transaction: conversations (new ones inserted, others upserted), messages,
    attachments, what the arrivals set off, the mailbox's counter."""
    mailbox, keys, started = rows.mailbox, rows.keys, rows.started()
    with transaction.atomic():
        ids_reserve(started)  # the summary is sealed with the conversation's id
        for thread in rows.threads.values():
            thread.conversation.summary_sealed = seal_json(
                keys,
                thread.summary,
                field="conversation.summary",
                row=conversation_row(thread.conversation.pk),
            )
        unwritten = [c for c in started if c._state.adding]
        rows_insert(unwritten)
        written = {id(c) for c in unwritten}
        recount = _changes_laid_over_theirs([t for t in rows.threads.values() if not t.is_new])
        # One upsert for the conversations already in the database: counters and summary.
        Conversation.objects.bulk_create(
            [t.conversation for t in rows.threads.values() if id(t.conversation) not in written],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=[
                "summary_sealed",
                "status",
                "closed_at",
                "snoozed_until",
                "message_count",
                "has_attachments",
                "last_message_at",
                "first_message_at",
            ],
        )
        rows_insert(rows.messages)
        rows_insert(rows.attachments)
        for conversation in recount:
            conversation_recount(keys, conversation)
        arrivals_handle(
            mailbox=mailbox,
            started=[
                NewConversation(t.conversation, t.first_mail)
                for t in rows.threads.values()
                if t.is_new and t.customer_started
            ],
            replied=[(t.conversation, t.was_snoozed) for t in rows.replied],
            created=started,
            stored=[
                StoredMail(message, headers)
                for message, headers in zip(rows.messages, rows.headers, strict=True)
            ],
        )
        Mailbox.objects.filter(pk=mailbox.pk).update(
            messages_synced=F("messages_synced") + len(rows.messages)
        )


# What a stored conversation held when the batch read it. Others may change it before the batch
# is written (an agent puts it on hold, an erasure or a merge takes messages away), and the
# batch writes its own changes over theirs, never its stale copy back.
_SEEN = ("status", "closed_at", "snoozed_until", "message_count", "summary_sealed")


def _changes_laid_over_theirs(threads: list[_InBatch]) -> list[Conversation]:
    """Lock the batch's stored conversations (until the batch commits) and lay its changes over
    what each holds now. Returns those whose messages changed meanwhile: they are counted again
    once the batch's messages are in. `_ConversationGone` when one no longer exists.

    The lock is FOR NO KEY UPDATE, as the UPDATE itself takes: rows that only point at the
    conversation (a note, a follow) are not held up. Merging, splitting, erasing and tagging
    lock the conversations they change first, in the same order (by id): no deadlock."""
    if not threads:
        return []
    theirs_by_pk = {
        c.pk: c
        for c in conversations_for_update([t.conversation.pk for t in threads]).only(
            "id", "assignee_id", *_SEEN
        )
    }
    if len(theirs_by_pk) < len(threads):
        raise _ConversationGone
    recount = []
    for thread in threads:
        ours, seen = thread.conversation, thread.seen
        theirs = theirs_by_pk[ours.pk]
        ours.assignee_id = theirs.assignee_id  # for the receivers (the upsert leaves it)
        if all(getattr(theirs, name) == seen[name] for name in _SEEN):
            continue
        if theirs.message_count != seen["message_count"] or (
            theirs.summary_sealed != seen["summary_sealed"]
        ):
            recount.append(ours)
        history_closed_at = ours.closed_at if ours.closed_at != seen["closed_at"] else None
        ours.status, ours.closed_at = theirs.status, theirs.closed_at
        ours.snoozed_until = theirs.snoozed_until
        if thread.replied:  # the customer wrote again: as `_conversation_add` does
            thread.was_snoozed = theirs.snoozed_until is not None
            if ours.status in (Status.CLOSED, Status.PENDING):
                ours.status, ours.closed_at = Status.OPEN, None
            ours.snoozed_until = None
        elif history_closed_at and ours.closed_at is not None:
            ours.closed_at = max(ours.closed_at, history_closed_at)
    return recount


def _adopt(
    folder: MailboxFolder,
    fresh: list[RawMail],
    digests: list[int],
    prefix: str,
    result: IngestResult,
) -> tuple[list[RawMail], list[int]]:
    """Re-key stored messages that these mails are the same as (one stored row per mail)."""
    candidates: dict[int, list[Message]] = {}
    for message in (
        Message.objects.filter(folder=folder, raw_digest__in=set(digests))
        .exclude(provider_key__startswith=prefix)
        .order_by("id")
    ):
        candidates.setdefault(message.raw_digest, []).append(message)
    if not candidates:
        return fresh, digests
    keep_mails, keep_digests, adopted = [], [], []
    for mail, digest in zip(fresh, digests, strict=True):
        same = candidates.get(digest)
        if same:
            message = same.pop(0)
            message.provider_key = mail.provider_key
            message.expunged_at = None
            message.is_seen, message.is_flagged = mail.seen, mail.flagged
            adopted.append(message)
        else:
            keep_mails.append(mail)
            keep_digests.append(digest)
    Message.objects.bulk_update(adopted, ["provider_key", "expunged_at", "is_seen", "is_flagged"])
    result.adopted += len(adopted)
    return keep_mails, keep_digests


def is_history(mailbox: Mailbox, received_at: datetime) -> bool:
    """Mail from before the mailbox was connected (by HISTORY_AGE): imported as handled."""
    return received_at < (mailbox.created_at or timezone.now()) - HISTORY_AGE


def _conversation_start(
    mailbox: Mailbox, keys: WorkspaceKeys, p: ParsedMessage, received_at: datetime, thread_hint: str
) -> Conversation:
    """A new conversation, not yet saved (the batch inserts them together)."""
    history = is_history(mailbox, received_at)
    return Conversation(
        workspace_id=mailbox.workspace_id,
        mailbox=mailbox,
        status=Status.CLOSED if history else Status.OPEN,
        closed_at=received_at if history else None,  # old mail imported as already handled
        summary_sealed=b"",
        subject_token=subject_token(keys, p.subject),
        provider_thread_id=thread_hint[:255],
        last_message_at=received_at,
        first_message_at=received_at,
    )


def _conversation_add(
    conversation: Conversation,
    summary: dict,
    p: ParsedMessage,
    *,
    direction: str,
    received_at: datetime,
    history: bool,
) -> bool:
    """Fold one message into the conversation's counters and its sealed summary.

    True when it is the customer writing again on a live conversation (followers hear of it).
    """
    is_reply_to_existing = conversation.message_count > 0
    conversation.message_count += 1
    if history and conversation.closed_at is not None:
        # Imported history counts as closed at its newest message.
        conversation.closed_at = max(conversation.closed_at, received_at)
    conversation.first_message_at = min(conversation.first_message_at, received_at)
    conversation.has_attachments = conversation.has_attachments or p.has_attachments
    if not summary.get("subject"):
        summary["subject"] = p.subject
    counterpart = _counterpart(direction, p)
    if counterpart and (direction == Direction.INBOUND or not summary.get("address")):
        summary["name"], summary["address"] = (
            counterpart.get("name", ""),
            counterpart.get("address", ""),
        )
    if received_at < conversation.last_message_at and is_reply_to_existing:
        return False  # an older message found late (initial sync): the summary stays on the newest
    if direction == Direction.INBOUND and is_reply_to_existing and p.auto.is_auto_reply:
        # An out-of-office answering us: filed in the conversation, but it is not the customer
        # writing again: no reopening, no wake-up, and the clocks (last message) stay put.
        return False
    conversation.last_message_at = received_at
    summary["snippet"] = p.snippet
    # A customer writing again brings a closed, pending or snoozed conversation back.
    if direction == Direction.INBOUND and is_reply_to_existing and not history:
        if conversation.status in (Status.CLOSED, Status.PENDING):
            conversation.status = Status.OPEN
            conversation.closed_at = None
        conversation.snoozed_until = None
        return True
    return False
