"""What the GDPR operations (`privacy.gdpr`) do to contacts: a person's erasure removes
their contact (every address, the team's note, the links to conversations), and their
export and the workspace's export include what is held about them, in clear for the
person asking. Public functions: privacy imports them, contacts never imports privacy."""

from django.db import transaction

from accounts.keys import keys_for
from accounts.models import Workspace
from contacts.models import Contact, ContactAddress, ContactConversation
from contacts.sealing import CONTACT_NOTE, contact_row, open_or_blank
from contacts.selectors import contact_views
from inbox.erasure import normalise_address


def person_contacts_find(*, workspace: Workspace, digest: str) -> list[int]:
    """Ids of the contacts holding the address of this keyed digest (`person_digest`)."""
    return list(
        ContactAddress.objects.filter(workspace=workspace, digest=digest).values_list(
            "contact_id", flat=True
        )
    )


def person_contacts_erase(*, workspace: Workspace, digest: str) -> int:
    """Delete the person's contact: all its addresses (a merged contact is one person), its
    note and its links. Works from the digest alone, so a replayed erasure (the ledger keeps
    no address) removes a contact a restored backup brought back. Returns how many went."""
    ids = person_contacts_find(workspace=workspace, digest=digest)
    if not ids:
        return 0
    with transaction.atomic():
        Contact.objects.filter(workspace=workspace, pk__in=ids).delete()
    return len(ids)


def person_contacts_export(*, workspace: Workspace, address: str) -> list[dict]:
    """What the contacts hold about the person of `address`, for their access request."""
    keys = keys_for(workspace)
    digest = keys.person_digest(normalise_address(address))
    ids = person_contacts_find(workspace=workspace, digest=digest)
    return contacts_export(workspace=workspace, ids=ids)


def contacts_export(*, workspace: Workspace, ids: list[int] | None = None) -> list[dict]:
    """Contacts in clear (all of the workspace's when `ids` is None), for an export archive."""
    keys = keys_for(workspace)
    qs = Contact.objects.filter(workspace=workspace).select_related("organisation")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    result = []
    contacts = list(qs.order_by("id"))
    for start in range(0, len(contacts), 500):
        chunk = contacts[start : start + 500]
        links: dict[int, list[int]] = {}
        for contact_id, conversation_id in ContactConversation.objects.filter(
            contact_id__in=[c.pk for c in chunk]
        ).values_list("contact_id", "conversation_id"):
            links.setdefault(contact_id, []).append(conversation_id)
        for contact, view in zip(chunk, contact_views(keys, chunk), strict=True):
            result.append(
                {
                    "name": view.name,
                    "addresses": view.addresses,
                    "organisation": (
                        {"name": view.organisation.name, "domain": view.organisation.domain}
                        if view.organisation
                        else None
                    ),
                    "note": open_or_blank(
                        keys, contact.note_sealed, field=CONTACT_NOTE, row=contact_row(contact.pk)
                    ),
                    "created_at": contact.created_at.isoformat(),
                    "last_seen_at": contact.last_seen_at.isoformat(),
                    "conversations": sorted(links.get(contact.pk, [])),
                }
            )
    return result
