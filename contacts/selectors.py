"""Reads for the contact panel, the contacts page and an organisation's page.

Each decrypts only what the page shows: one contact's card, or the rows of one page. Searches
match blind tokens first, then confirm the candidates on the decrypted names and addresses.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Workspace
from contacts.models import Contact, ContactAddress, ContactConversation, Organisation
from contacts.sealing import (
    ADDRESS,
    CONTACT_NAME,
    CONTACT_NOTE,
    ORGANISATION_DOMAIN,
    ORGANISATION_NAME,
    address_row,
    contact_row,
    open_or_blank,
    organisation_row,
)
from inbox.erasure import normalise_address
from inbox.mail.search import words
from inbox.models import Conversation
from inbox.selectors.conversation_rows import conversation_summary
from trupeo.crypto import WorkspaceKeys

PAGE = 50  # contacts per page of the contacts page
OTHERS = 10  # other conversations the panel shows
ORGANISATION_PAGE = 25  # conversations per page of an organisation
ORGANISATION_CONTACTS = 200


@dataclass(frozen=True)
class OrganisationView:
    id: int
    name: str
    domain: str


@dataclass(frozen=True)
class ConversationLine:
    id: int
    subject: str
    status: str
    status_label: str
    last_message_at: datetime


@dataclass
class ContactView:
    id: int
    name: str
    addresses: list[str]
    organisation: OrganisationView | None
    note: str = ""
    note_updated_at: datetime | None = None
    note_updated_by: str = ""
    conversations: list[ConversationLine] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or (self.addresses[0] if self.addresses else "")


def organisation_view(keys: WorkspaceKeys, organisation: Organisation) -> OrganisationView:
    row = organisation_row(organisation.pk)
    return OrganisationView(
        organisation.pk,
        open_or_blank(keys, organisation.name_sealed, field=ORGANISATION_NAME, row=row),
        open_or_blank(keys, organisation.domain_sealed, field=ORGANISATION_DOMAIN, row=row),
    )


def _addresses(keys: WorkspaceKeys, contact_ids: list[int]) -> dict[int, list[str]]:
    """Each contact's addresses, decrypted, in one query."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = ContactAddress.objects.filter(contact_id__in=contact_ids).order_by("id")
    for row in rows.only("contact_id", "digest", "address_sealed"):
        found[row.contact_id].append(
            open_or_blank(keys, row.address_sealed, field=ADDRESS, row=address_row(row.digest))
        )
    return found


def contact_views(keys: WorkspaceKeys, contacts: list[Contact]) -> list[ContactView]:
    addresses = _addresses(keys, [c.pk for c in contacts])
    organisations: dict[int, OrganisationView] = {}
    views = []
    for c in contacts:
        organisation = None
        if c.organisation_id is not None:
            organisation = organisations.get(c.organisation_id)
            if organisation is None:
                organisation = organisations[c.organisation_id] = organisation_view(
                    keys, c.organisation
                )
        views.append(
            ContactView(
                c.pk,
                open_or_blank(keys, c.name_sealed, field=CONTACT_NAME, row=contact_row(c.pk)),
                addresses.get(c.pk, []),
                organisation,
            )
        )
    return views


def contact_card(keys: WorkspaceKeys, contact: Contact, *, leave_out: int | None = None):
    """One contact as its panel and page show it: name, addresses, organisation, the note,
    their latest conversations (`leave_out`: the one being read)."""
    view = contact_views(keys, [contact])[0]
    row = contact_row(contact.pk)
    view.note = open_or_blank(keys, contact.note_sealed, field=CONTACT_NOTE, row=row)
    view.note_updated_at = contact.note_updated_at
    if contact.note_updated_by is not None:
        view.note_updated_by = contact.note_updated_by.display_name
    view.conversations = conversation_lines(
        keys, contact_conversations(contact, leave_out=leave_out)[:OTHERS]
    )
    return view


def contact_conversations(contact: Contact, *, leave_out: int | None = None) -> QuerySet:
    """The contact's conversations, newest first (ids of the link table, joined once)."""
    linked = ContactConversation.objects.filter(contact=contact).values("conversation_id")
    qs = Conversation.objects.filter(workspace_id=contact.workspace_id, pk__in=linked)
    if leave_out is not None:
        qs = qs.exclude(pk=leave_out)
    return qs.only("id", "status", "summary_sealed", "last_message_at").order_by(
        "-last_message_at", "-id"
    )


def conversation_lines(keys: WorkspaceKeys, conversations) -> list[ConversationLine]:
    return [
        ConversationLine(
            c.pk,
            conversation_summary(keys, c).get("subject", ""),
            c.status,
            c.get_status_display(),
            c.last_message_at,
        )
        for c in conversations
    ]


def contact_for_address(keys: WorkspaceKeys, workspace: Workspace, address: str):
    """The contact who has this address, with what its card needs, or None."""
    if not address:
        return None
    digest = keys.person_digest(normalise_address(address))
    row = (
        ContactAddress.objects.filter(workspace=workspace, digest=digest)
        .select_related("contact__organisation", "contact__note_updated_by")
        .first()
    )
    return row.contact if row else None


def contact_panel(keys: WorkspaceKeys, workspace: Workspace, conversation: Conversation) -> dict:
    """What the panel beside a conversation shows: its requester, or only their address."""
    summary = conversation_summary(keys, conversation)
    contact = contact_for_address(keys, workspace, summary.get("address", ""))
    return {
        "conversation": conversation,
        "summary": summary,
        "card": contact_card(keys, contact, leave_out=conversation.pk) if contact else None,
    }


def for_card(workspace: Workspace) -> QuerySet[Contact]:
    return Contact.objects.filter(workspace=workspace).select_related(
        "organisation", "note_updated_by"
    )


@dataclass(frozen=True)
class ContactsPage:
    rows: list[ContactView]
    after: int | None  # the cursor of the next page, if there is one
    query: str


def contacts_page(
    keys: WorkspaceKeys, workspace: Workspace, *, query: str = "", after: int | None = None
) -> ContactsPage:
    """A page of contacts, newest first (keyset on the id); with a query, those whose name or
    addresses contain every word of it, matched on tokens then confirmed in clear."""
    qs = Contact.objects.filter(workspace=workspace).select_related("organisation")
    wanted = sorted(words(query))[:10]
    if wanted:
        qs = qs.filter(search_tokens__contains_all=[keys.search_token(w) for w in wanted])
    if after is not None:
        qs = qs.filter(pk__lt=after)
    candidates = list(qs.only("id", "name_sealed", "organisation").order_by("-pk")[: PAGE + 1])
    more = len(candidates) > PAGE
    candidates = candidates[:PAGE]
    views = contact_views(keys, candidates)
    if wanted:
        views = [v for v in views if set(wanted) <= words(" ".join([v.name, *v.addresses]))]
    return ContactsPage(views, candidates[-1].pk if more else None, query)


@dataclass(frozen=True)
class OrganisationPage:
    organisation: OrganisationView
    contacts: list[ContactView]
    conversations: list[ConversationLine]
    after: int | None


def organisation_page(
    keys: WorkspaceKeys, organisation: Organisation, *, after: int | None = None
) -> OrganisationPage:
    """An organisation, its contacts, and its conversations newest first (keyset on the id)."""
    contacts = list(
        Contact.objects.filter(organisation=organisation)
        .select_related("organisation")
        .only("id", "name_sealed", "organisation")
        .order_by("-last_seen_at", "-id")[:ORGANISATION_CONTACTS]
    )
    linked = ContactConversation.objects.filter(contact__organisation=organisation).values(
        "conversation_id"
    )
    qs = Conversation.objects.filter(workspace_id=organisation.workspace_id, pk__in=linked)
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(
        qs.only("id", "status", "summary_sealed", "last_message_at").order_by("-pk")[
            : ORGANISATION_PAGE + 1
        ]
    )
    more = len(rows) > ORGANISATION_PAGE
    rows = rows[:ORGANISATION_PAGE]
    return OrganisationPage(
        organisation_view(keys, organisation),
        contact_views(keys, contacts),
        conversation_lines(keys, rows),
        rows[-1].pk if more else None,
    )


def conversation_contacts_views(
    keys: WorkspaceKeys, workspace: Workspace, conversation: Conversation
) -> list[ContactView]:
    """The contacts who took part in `conversation` (three queries, whatever their number)."""
    linked = ContactConversation.objects.filter(conversation=conversation).values("contact_id")
    contacts = list(
        Contact.objects.filter(workspace=workspace, pk__in=linked)
        .select_related("organisation")
        .only("id", "name_sealed", "organisation")
        .order_by("-pk")
    )
    return contact_views(keys, contacts)
