"""What new mail sets off, inside the ingestion transaction: rules, wake-ups, followers."""

from inbox.mail.rules import NewConversation, rules_apply
from inbox.mail.signals import Arrivals, StoredMail, TrailLine, mail_stored
from inbox.models import ActivityKind, Conversation, Mailbox


def arrivals_handle(
    *,
    mailbox: Mailbox,
    started: list[NewConversation],
    replied: list[tuple[Conversation, bool]],
    created: list[Conversation],
    stored: list[StoredMail],
) -> None:
    """`started`: conversations a customer just opened; `replied`: (conversation, was it
    snoozed) where the customer wrote again; `created`: every conversation the batch began;
    `stored`: every message written. The UI side hears of it through `mail_stored`."""
    arrivals = Arrivals(
        replied=[conversation for conversation, _ in replied], started=created, stored=stored
    )
    rules_apply(mailbox=mailbox, started=started, arrivals=arrivals)
    # Ingestion already brought them back (snoozed_until cleared); the trail says so.
    arrivals.trail += [TrailLine(c, ActivityKind.WOKE) for c, was_snoozed in replied if was_snoozed]
    mail_stored.send(sender=Mailbox, mailbox=mailbox, arrivals=arrivals)
