"""Writes on contacts and organisations: the shared note, merging duplicates, an
organisation's name and domain, and the purge of people who never became clients."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import User, Workspace
from contacts.linking import domain_token
from contacts.models import Contact, ContactAddress, ContactConversation, Organisation
from contacts.sealing import (
    CONTACT_NAME,
    CONTACT_NOTE,
    ORGANISATION_DOMAIN,
    ORGANISATION_NAME,
    contact_row,
    open_or_blank,
    organisation_row,
)

NOTE_MAX = 10_000


def contact_note_save(*, contact: Contact, body: str, user: User) -> None:
    """Replace the team's note about `contact` (an empty body removes it)."""
    keys = keys_for(contact.workspace)
    body = body.strip()[:NOTE_MAX]
    contact.note_sealed = (
        keys.seal_text(body, field=CONTACT_NOTE, row=contact_row(contact.pk)) if body else None
    )
    contact.note_updated_at = timezone.now()
    contact.note_updated_by = user
    contact.save(update_fields=["note_sealed", "note_updated_at", "note_updated_by"])


def contacts_merge(*, keep: Contact, other: Contact) -> Contact:
    """Make `other` part of `keep`: its addresses and conversations move, the notes are
    joined, a name fills a missing one; then `other` goes. Both are of one workspace."""
    if keep.pk == other.pk or keep.workspace_id != other.workspace_id:
        raise ValueError("two different contacts of one workspace are needed")
    keys = keys_for(keep.workspace)
    with transaction.atomic():
        # Locked in id order: two merges of the same pair cannot deadlock.
        locked = {
            c.pk: c
            for c in Contact.objects.select_for_update()
            .filter(pk__in=[keep.pk, other.pk])
            .order_by("pk")
        }
        if len(locked) != 2:
            raise ValueError("one of the contacts no longer exists")
        keep, other = locked[keep.pk], locked[other.pk]
        name = open_or_blank(keys, keep.name_sealed, field=CONTACT_NAME, row=contact_row(keep.pk))
        if not name:
            name = open_or_blank(
                keys, other.name_sealed, field=CONTACT_NAME, row=contact_row(other.pk)
            )
        notes = [
            open_or_blank(keys, c.note_sealed, field=CONTACT_NOTE, row=contact_row(c.pk))
            for c in (keep, other)
        ]
        note = "\n\n".join(n for n in notes if n)
        row = contact_row(keep.pk)
        keep.name_sealed = keys.seal_text(name, field=CONTACT_NAME, row=row)
        keep.named = bool(name)
        keep.note_sealed = keys.seal_text(note, field=CONTACT_NOTE, row=row) if note else None
        keep.organisation_id = keep.organisation_id or other.organisation_id
        keep.last_seen_at = max(keep.last_seen_at, other.last_seen_at)
        keep.search_tokens = sorted(set(keep.search_tokens or []) | set(other.search_tokens or []))
        ContactAddress.objects.filter(contact=other).update(contact=keep)
        # A conversation both took part in keeps one link.
        shared = ContactConversation.objects.filter(
            contact=keep, conversation_id=OuterRef("conversation_id")
        )
        ContactConversation.objects.filter(contact=other).filter(Exists(shared)).delete()
        ContactConversation.objects.filter(contact=other).update(contact=keep)
        keep.save()
        other.delete()
    return keep


def organisation_edit(*, organisation: Organisation, name: str, domain: str) -> None:
    """Rename an organisation or change its domain (ValidationError if another has it)."""
    keys = keys_for(organisation.workspace)
    domain = domain.strip().lower()
    token = domain_token(keys, domain)
    taken = (
        Organisation.objects.filter(workspace_id=organisation.workspace_id, domain_token=token)
        .exclude(pk=organisation.pk)
        .exists()
    )
    if taken:
        raise ValidationError(_("Another organisation already has this domain."))
    row = organisation_row(organisation.pk)
    organisation.domain_token = token
    organisation.domain_sealed = keys.seal_text(domain, field=ORGANISATION_DOMAIN, row=row)
    organisation.name_sealed = keys.seal_text(name.strip(), field=ORGANISATION_NAME, row=row)
    organisation.save(update_fields=["domain_token", "domain_sealed", "name_sealed"])


def contacts_never_clients(*, workspace_id: int, older_than: datetime):
    """Contacts last seen before `older_than` and linked to no conversation any more
    (retention deleted their mail, or they were only ever copied): data kept for nothing."""
    linked = ContactConversation.objects.filter(contact=OuterRef("pk"))
    return Contact.objects.filter(workspace_id=workspace_id, last_seen_at__lt=older_than).exclude(
        Exists(linked)
    )


def contacts_never_clients_purge(
    *, workspace: Workspace, older_than: datetime, limit: int | None = None
) -> int:
    """Delete the contacts of `contacts_never_clients` (at most `limit` when given: the
    retention run works in batches). Returns how many went."""
    stale = contacts_never_clients(workspace_id=workspace.pk, older_than=older_than)
    deleted = 0
    while limit is None or deleted < limit:
        size = 1000 if limit is None else min(1000, limit - deleted)
        ids = list(stale.order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        Contact.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
