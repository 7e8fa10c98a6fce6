"""Contacts for mail stored before the contacts existed: the stored envelopes are decrypted in
batches, in a worker or an operator's command (never in a request), and linked exactly as the
pipeline's signal links new mail (`contacts.linking.contacts_link`): running it twice adds
nothing."""

from collections.abc import Callable

from accounts.keys import keys_for
from accounts.models import Workspace
from contacts.linking import Seen, contacts_link
from inbox.mail.sealing import message_envelope_or_none
from inbox.models import Message

BATCH = 2000


def envelope_people(envelope: dict) -> list[tuple[str, str]]:
    """(name, address) of From, To and Cc of a stored envelope."""
    people = [envelope.get("from") or {}, *(envelope.get("to") or []), *(envelope.get("cc") or [])]
    return [(p.get("name") or "", p["address"]) for p in people if p and p.get("address")]


def contacts_backfill(
    *,
    workspace: Workspace,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Link every stored message of `workspace` to its contacts, oldest first, one batch of
    messages at a time (keyset on the id). Returns the number of contacts created."""
    keys = keys_for(workspace)
    created, done, after = 0, 0, 0
    base = Message.objects.filter(workspace=workspace).only(
        "id", "mailbox_id", "sealed_as", "envelope_sealed", "conversation_id", "received_at"
    )
    while True:
        rows = list(base.filter(pk__gt=after).order_by("pk")[:batch])
        if not rows:
            return created
        seen = []
        for message in rows:
            envelope = message_envelope_or_none(keys, message)
            if envelope is None:
                continue
            seen += [
                Seen(message.conversation_id, name, address, message.received_at)
                for name, address in envelope_people(envelope)
            ]
        created += contacts_link(workspace=workspace, seen=seen)
        after = rows[-1].pk
        done += len(rows)
        if progress:
            progress(done, created)
