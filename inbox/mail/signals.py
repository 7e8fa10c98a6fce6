"""What the pipeline tells the UI side, which it never imports.

Receivers are connected in inbox/apps.py. Signals are sent inside the ingestion transaction, so
whatever a receiver writes commits (or rolls back) with the mail that caused it.
"""

from dataclasses import dataclass, field

from django.dispatch import Signal

from accounts.models import User
from inbox.mail.parsing import ParsedMessage
from inbox.models import Conversation, Message


@dataclass(frozen=True)
class TrailLine:
    """A line a conversation's trail must show (an Activity with no actor: the pipeline did it)."""

    conversation: Conversation
    kind: str  # an ActivityKind
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StoredMail:
    """One message of the batch as stored (its row has an id), with its headers as parsed.

    The headers are in memory in clear only for the length of the batch: receivers that need
    addresses or loop markers read them here instead of decrypting the row again.
    """

    message: Message
    headers: ParsedMessage


@dataclass
class Arrivals:
    """What a stored batch did that people must see, each list in the order it happened."""

    trail: list[TrailLine] = field(default_factory=list)  # rules' tags and assignments, wake-ups
    assigned: list[tuple[Conversation, User]] = field(default_factory=list)  # by a rule
    replied: list[Conversation] = field(default_factory=list)  # a customer wrote again
    started: list[Conversation] = field(default_factory=list)  # new conversations, any side
    stored: list[StoredMail] = field(default_factory=list)  # every message stored, in order


# Sent once per stored batch, after the rules ran: `mailbox` (the Mailbox), `arrivals` (Arrivals).
# The lists of the workspace must refresh; assignees follow and hear; followers hear of replies.
mail_stored = Signal()

# Sent once when the server accepted an outgoing message (`outgoing`), inside the transaction
# that records it: never for a retry of a send already recorded.
outgoing_sent = Signal()
