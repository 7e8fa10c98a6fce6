"""Which conversation a message joins, and why.

In order: a Message-ID named by In-Reply-To or References (ours included), the provider's
thread id, then — only for a message whose subject says it is a reply — the same normalised
subject with a shared participant, within a few days. Otherwise it starts a conversation.
Message-IDs and subjects are compared as blind tokens: neither is stored in clear.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inbox.mail.parsing import ParsedMessage, normalise_subject
from inbox.mail.sealing import conversation_row, open_json
from inbox.models import Conversation, Mailbox, Message, ThreadReason
from trupeo.crypto import WorkspaceKeys

SUBJECT_WINDOW = timedelta(days=7)
_REPLY_PREFIX_MIN_LEN = 4  # "Re: ok" is too thin to join anything on


def message_id_token(keys: WorkspaceKeys, message_id: str) -> int | None:
    value = message_id.strip().strip("<>").strip().lower()
    return keys.search_token("msgid:" + value) if value else None


def subject_token(keys: WorkspaceKeys, subject: str) -> int | None:
    value = normalise_subject(subject).lower()
    return keys.search_token("subject:" + value) if value else None


def _looks_like_reply(subject: str) -> bool:
    normalised = normalise_subject(subject)
    return (
        bool(normalised)
        and normalised != subject.strip()
        and len(normalised) >= _REPLY_PREFIX_MIN_LEN
    )


@dataclass
class Threader:
    """Threads one batch: knows the batch's own messages as well as the stored ones.

    A stored conversation is one object for the whole batch, however it was found (parent,
    thread id, subject, id): the batch adds its messages to that object, so two messages
    joining the same conversation cannot each count from the stored values.
    """

    mailbox: Mailbox
    keys: WorkspaceKeys
    _by_message_id: dict[int, Conversation] = field(default_factory=dict)
    _new_by_subject: dict[int, list[tuple[Conversation, str]]] = field(default_factory=dict)
    _by_thread: dict[str, Conversation] = field(default_factory=dict)
    _by_pk: dict[int, Conversation] = field(default_factory=dict)

    def _one(self, conversation: Conversation) -> Conversation:
        """The batch's object for a stored conversation."""
        return self._by_pk.setdefault(conversation.pk, conversation)

    def conversation(self, pk: int) -> Conversation | None:
        """A stored conversation of the mailbox by id (what we sent from it); None once it is
        gone (merged away, erased)."""
        if pk not in self._by_pk:
            found = Conversation.objects.filter(pk=pk, mailbox=self.mailbox).first()
            if found is None:
                return None
            self._by_pk[pk] = found
        return self._by_pk[pk]

    def prefetch(self, parsed: list[ParsedMessage]) -> None:
        """One query for every parent the batch names (instead of one per message)."""
        tokens = {
            t
            for p in parsed
            for mid in [p.in_reply_to, *p.references]
            if mid and (t := message_id_token(self.keys, mid)) is not None
        }
        if not tokens:
            return
        rows = (
            Message.objects.filter(mailbox=self.mailbox, message_id_token__in=tokens)
            .select_related("conversation")
            .order_by("received_at")
        )
        for message in rows:
            self._by_message_id[message.message_id_token] = self._one(message.conversation)

    def remember(self, token: int | None, conversation: Conversation) -> None:
        if token is not None:
            self._by_message_id.setdefault(token, conversation)

    def remember_conversation(self, conversation: Conversation, counterpart: str) -> None:
        """A conversation started in this batch, not yet in the database: found again by its
        subject, and by its provider thread id (the next message of a Gmail thread in the same
        batch joins it even when its headers name no parent)."""
        if conversation.provider_thread_id:
            self._by_thread.setdefault(conversation.provider_thread_id, conversation)
        if conversation.subject_token is not None:
            entry = (conversation, counterpart)
            self._new_by_subject.setdefault(conversation.subject_token, []).append(entry)

    def find(
        self, parsed: ParsedMessage, *, received_at: datetime, thread_hint: str = ""
    ) -> tuple[Conversation | None, str]:
        if parsed.in_reply_to:
            token = message_id_token(self.keys, parsed.in_reply_to)
            if token in self._by_message_id:
                return self._by_message_id[token], ThreadReason.IN_REPLY_TO
        for mid in reversed(parsed.references):  # the nearest ancestor first
            token = message_id_token(self.keys, mid)
            if token in self._by_message_id:
                return self._by_message_id[token], ThreadReason.REFERENCES
        if thread_hint:
            thread_hint = thread_hint[:255]  # as stored in provider_thread_id
            if thread_hint not in self._by_thread:
                found = Conversation.objects.filter(
                    mailbox=self.mailbox, provider_thread_id=thread_hint
                ).first()
                if found:
                    self._by_thread[thread_hint] = self._one(found)
            if thread_hint in self._by_thread:
                return self._by_thread[thread_hint], ThreadReason.PROVIDER
        if _looks_like_reply(parsed.subject):
            found = self._by_subject(parsed, received_at)
            if found:
                return found, ThreadReason.SUBJECT
        return None, ThreadReason.NEW

    def _by_subject(self, parsed: ParsedMessage, received_at: datetime) -> Conversation | None:
        token = subject_token(self.keys, parsed.subject)
        if token is None:
            return None
        participants = {a.address for a in (parsed.from_, *parsed.to, *parsed.cc) if a}
        window = (received_at - SUBJECT_WINDOW, received_at + SUBJECT_WINDOW)
        for conversation, counterpart in reversed(self._new_by_subject.get(token, [])):
            if (
                window[0] <= conversation.last_message_at <= window[1]
                and counterpart in participants
            ):
                return conversation
        candidates = Conversation.objects.filter(
            mailbox=self.mailbox,
            subject_token=token,
            last_message_at__gte=window[0],
            last_message_at__lte=window[1],
        ).order_by("-last_message_at")[:5]
        for conversation in candidates:
            summary = open_json(
                self.keys,
                conversation.summary_sealed,
                field="conversation.summary",
                row=conversation_row(conversation.pk),
            )
            if summary.get("address") in participants:
                return self._one(conversation)
        return None
