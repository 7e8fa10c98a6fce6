"""Contacts made from stored mail: the pipeline's `mail_stored` signal and the backfill.

A batch of a sync is thousands of messages: everything here works per batch, with a fixed
number of queries whatever its size (existing addresses, own addresses, organisations, then
one insert per table and one update of last-seen times). Only external people become
contacts: the workspace's own mailbox addresses and its members' addresses never do.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import IntegrityError, transaction

from accounts.keys import keys_for
from accounts.models import Membership, Workspace
from contacts.free_mail import is_free_mail
from contacts.models import Contact, ContactAddress, ContactConversation, Organisation
from contacts.sealing import (
    ADDRESS,
    CONTACT_NAME,
    ORGANISATION_DOMAIN,
    ORGANISATION_NAME,
    address_row,
    contact_row,
    organisation_row,
)
from inbox.erasure import normalise_address
from inbox.mail.bulk_insert import ids_reserve, rows_insert
from inbox.mail.search import words
from inbox.mail.signals import Arrivals
from inbox.models import Mailbox
from trupeo.crypto import WorkspaceKeys

logger = logging.getLogger(__name__)
LOOKUP_CHUNK = 1000  # digests per IN (...) query


@dataclass(frozen=True)
class Seen:
    """Someone on a stored message: their name as written, their address, when, where."""

    conversation_id: int
    name: str
    address: str
    at: datetime


def mail_stored_received(sender, *, mailbox: Mailbox, arrivals: Arrivals, **kwargs) -> None:
    """Receiver of `inbox.mail.signals.mail_stored`: inside the ingestion transaction."""
    seen = []
    for stored in arrivals.stored:
        headers, message = stored.headers, stored.message
        for person in (headers.from_, *headers.to, *headers.cc):
            if person and person.address:
                seen.append(
                    Seen(message.conversation_id, person.name, person.address, message.received_at)
                )
    contacts_link(workspace=mailbox.workspace, seen=seen)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def domain_token(keys: WorkspaceKeys, domain: str) -> int:
    return keys.search_token("org:" + domain)


def person_tokens(keys: WorkspaceKeys, texts: Iterable[str]) -> set[int]:
    """What a contact is found by: every word of its name and addresses (and their parts)."""
    found: set[str] = set()
    for text in texts:
        found |= words(text)
    return {keys.search_token(w) for w in found}


def own_addresses(workspace: Workspace) -> set[str]:
    """The workspace's mailbox addresses and its members' addresses, normalised (one query)."""
    mailboxes = Mailbox.objects.filter(workspace=workspace).values_list("address")
    people = Membership.objects.filter(workspace=workspace).values_list("user__email")
    return {normalise_address(a) for (a,) in mailboxes.union(people, all=True)}


def contacts_link(*, workspace: Workspace, seen: Sequence[Seen]) -> int:
    """Make or update the contacts of these sightings and link them to their conversations.

    Returns the number of contacts created. Idempotent: a sighting already linked adds nothing.
    """
    if not seen:
        return 0
    keys = keys_for(workspace)
    own = own_addresses(workspace)
    # One entry per person: the latest sighting's time, the first name given.
    people: dict[str, _Person] = {}
    for s in seen:
        address = normalise_address(s.address)
        if "@" not in address or address in own:
            continue
        person = people.get(address)
        if person is None:
            person = people[address] = _Person(address, keys.person_digest(address), s.at)
        person.add(s)
    if not people:
        return 0
    # Two syncs of one workspace may meet a new person at the same moment: the second insert
    # then waits for the first and fails its unique check. Its savepoint is rolled back and
    # the batch linked again, now finding the contact; the mail's own transaction goes on.
    for attempt in (1, 2):
        try:
            return _link(keys, workspace, people)
        except (IntegrityError, psycopg.IntegrityError):  # COPY raises psycopg's own
            if attempt == 2:
                logger.warning("workspace %s: contacts not linked for this batch", workspace.pk)
    return 0


def _link(keys: WorkspaceKeys, workspace: Workspace, people: dict[str, "_Person"]) -> int:
    with transaction.atomic():
        known = _known(workspace, [p.digest for p in people.values()])
        fresh = [p for p in people.values() if p.digest not in known]
        created = _create(keys, workspace, fresh)
        _touch(keys, known, people.values())
        ids = {p.digest: known[p.digest].contact_id for p in people.values() if p.digest in known}
        ids |= created
        links = {
            (ids[p.digest], conversation_id)
            for p in people.values()
            for conversation_id in p.conversations
        }
        ContactConversation.objects.bulk_create(
            [ContactConversation(contact_id=c, conversation_id=v) for c, v in sorted(links)],
            ignore_conflicts=True,
            batch_size=2000,
        )
    return len(created)


class _Person:
    __slots__ = ("address", "at", "conversations", "digest", "name")

    def __init__(self, address: str, digest: str, at: datetime) -> None:
        self.address, self.digest, self.at = address, digest, at
        self.name = ""
        self.conversations: set[int] = set()

    def add(self, s: Seen) -> None:
        self.at = max(self.at, s.at)
        self.name = self.name or (s.name or "").strip()[:200]
        self.conversations.add(s.conversation_id)


def _known(workspace: Workspace, digests: list[str]) -> dict[str, ContactAddress]:
    known: dict[str, ContactAddress] = {}
    for start in range(0, len(digests), LOOKUP_CHUNK):
        rows = ContactAddress.objects.filter(
            workspace=workspace, digest__in=digests[start : start + LOOKUP_CHUNK]
        ).select_related("contact")
        known.update((row.digest, row) for row in rows)
    return known


def _create(keys: WorkspaceKeys, workspace: Workspace, fresh: list[_Person]) -> dict[str, int]:
    """New contacts (and organisations) for addresses never seen: digest -> contact id."""
    if not fresh:
        return {}
    organisations = _organisations(keys, workspace, {domain_of(p.address) for p in fresh})
    contacts = [
        Contact(
            workspace=workspace,
            organisation_id=organisations.get(domain_of(p.address)),
            named=bool(p.name),
            last_seen_at=p.at,
            search_tokens=sorted(person_tokens(keys, [p.name, p.address])),
        )
        for p in fresh
    ]
    sealed_insert(
        contacts,
        lambda c, p: setattr(
            c, "name_sealed", keys.seal_text(p.name, field=CONTACT_NAME, row=contact_row(c.pk))
        ),
        fresh,
        ["name_sealed"],
    )
    rows_insert(
        [
            ContactAddress(
                workspace=workspace,
                contact=contact,
                digest=p.digest,
                address_sealed=keys.seal_text(p.address, field=ADDRESS, row=address_row(p.digest)),
            )
            for contact, p in zip(contacts, fresh, strict=True)
        ]
    )
    return {p.digest: c.pk for c, p in zip(contacts, fresh, strict=True)}


def sealed_insert(objs: list, seal, sources: list, fields: list[str]) -> None:
    """Insert new rows whose sealed values are bound to their own id: ids first, then seal,
    then write (on SQLite the rows exist already and are updated)."""
    ids_reserve(objs)
    for obj, source in zip(objs, sources, strict=True):
        seal(obj, source)
    written = [o for o in objs if not o._state.adding]  # by ids_reserve itself (SQLite)
    rows_insert([o for o in objs if o._state.adding])
    if written:
        type(objs[0]).objects.bulk_update(written, fields)


def _organisations(keys: WorkspaceKeys, workspace: Workspace, domains: set[str]) -> dict[str, int]:
    """domain -> organisation id, for the domains that are not free mail (created if new)."""
    tokens = {domain_token(keys, d): d for d in domains if d and not is_free_mail(d)}
    if not tokens:
        return {}
    found = dict(
        Organisation.objects.filter(workspace=workspace, domain_token__in=tokens).values_list(
            "domain_token", "id"
        )
    )
    new = [
        Organisation(workspace=workspace, domain_token=t) for t in sorted(tokens) if t not in found
    ]

    def seal(organisation: Organisation, domain: str) -> None:
        row = organisation_row(organisation.pk)
        organisation.domain_sealed = keys.seal_text(domain, field=ORGANISATION_DOMAIN, row=row)
        organisation.name_sealed = keys.seal_text(
            organisation_default_name(domain), field=ORGANISATION_NAME, row=row
        )

    if new:
        sealed_insert(
            new,
            seal,
            [tokens[o.domain_token] for o in new],
            ["domain_sealed", "name_sealed"],
        )
        found.update((o.domain_token, o.pk) for o in new)
    return {tokens[t]: pk for t, pk in found.items()}


def organisation_default_name(domain: str) -> str:
    """ "imprimerie-durand.fr" -> "Imprimerie-durand": a start the team can rename."""
    first = domain.split(".")[0] if domain.count(".") else domain
    return first[:1].upper() + first[1:]


def _touch(keys: WorkspaceKeys, known: dict[str, ContactAddress], people: Iterable[_Person]):
    """Later sightings move last-seen forward; a first display name fills an unnamed contact."""
    changed: dict[int, Contact] = {}
    for p in people:
        row = known.get(p.digest)
        if row is None:
            continue
        contact = changed.get(row.contact_id, row.contact)
        if p.at > contact.last_seen_at:
            contact.last_seen_at = p.at
            changed[contact.pk] = contact
        if p.name and not contact.named:
            contact.named = True
            contact.name_sealed = keys.seal_text(
                p.name, field=CONTACT_NAME, row=contact_row(contact.pk)
            )
            contact.search_tokens = sorted(
                set(contact.search_tokens or []) | person_tokens(keys, [p.name])
            )
            changed[contact.pk] = contact
    if changed:
        Contact.objects.bulk_update(
            list(changed.values()), ["last_seen_at", "named", "name_sealed", "search_tokens"]
        )
