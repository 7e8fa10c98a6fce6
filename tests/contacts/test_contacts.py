"""Contacts and organisations: made from mail synced from Dovecot, searched through the blind
index, merged, their note sealed, isolated per workspace, erased with the person."""

import subprocess
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Membership, Role
from contacts.actions import contact_note_save, contacts_never_clients_purge
from contacts.gdpr import contacts_export, person_contacts_export
from contacts.linking import Seen, contacts_link
from contacts.models import Contact, ContactAddress, ContactConversation, Organisation
from contacts.selectors import contact_for_address, contacts_page
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sync import mailbox_sync
from inbox.models import Conversation, FolderRole
from privacy.gdpr.deletion import person_erase
from tests.sync_worker import sync_command, worker_env

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.django_db


def mail(
    n: int, sender: str, *, to: str = "scolarite@lycee-verne.fr", cc: str = "", subject=""
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject or f"Demande n°{n}"
    msg["Date"] = format_datetime(datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(minutes=n))
    msg["Message-ID"] = f"<contact-{n}@example.net>"
    msg.set_content(f"Bonjour,\n\nDemande {n}.\n\nCordialement")
    return msg.as_bytes()


SOPHIE = "Sophie Martin <sophie.martin@imprimerie-durand.fr>"
PAUL = "Paul Durand <paul@imprimerie-durand.fr>"
KARIM = "Karim Benali <karim.benali@gmail.com>"


def _mails(alice_email: str) -> list[bytes]:
    return [
        mail(1, SOPHIE, cc=f"{PAUL}, Alice <{alice_email}>", subject="Devis brochures"),
        mail(2, KARIM, subject="Absence de Yanis"),
        mail(3, SOPHIE, subject="Facture 2026-118"),
        # Written to another of the workspace's own addresses: never a contact either.
        mail(4, KARIM, cc="intendance@lycee-verne.fr", subject="Cantine"),
    ]


@pytest.fixture
def synced(workspace, alice, dovecot):
    """A Dovecot mailbox with the mails above, synced by the real sync (batches of 2)."""
    user, password = dovecot.add_user("scolarite")
    with dovecot.connect(user) as imap:
        for raw in _mails(alice.email):
            imap.append("INBOX", raw)
    mailbox = mailbox_create(
        workspace=workspace,
        address="scolarite@lycee-verne.fr",
        credentials={"imap_password": password},
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
    )
    mailbox_create(workspace=workspace, address="intendance@lycee-verne.fr")
    mailbox_sync(mailbox_id=mailbox.pk, batch_size=2)
    return mailbox


def _contact(workspace, address: str) -> Contact:
    found = contact_for_address(keys_for(workspace), workspace, address)
    assert found is not None, address
    return found


def _names(page) -> set[str]:
    return {row.name for row in page.rows}


def test_sync_makes_contacts_of_external_people_only(synced, workspace, alice):
    assert Contact.objects.filter(workspace=workspace).count() == 3
    for own in ("scolarite@lycee-verne.fr", "intendance@lycee-verne.fr", alice.email):
        assert contact_for_address(keys_for(workspace), workspace, own) is None
    sophie = _contact(workspace, "Sophie.Martin@imprimerie-durand.fr")
    karim = _contact(workspace, "karim.benali@gmail.com")
    paul = _contact(workspace, "paul@imprimerie-durand.fr")
    # One organisation, for the company's domain; gmail.com makes none.
    assert Organisation.objects.filter(workspace=workspace).count() == 1
    assert sophie.organisation_id == paul.organisation_id is not None
    assert karim.organisation_id is None
    assert ContactConversation.objects.filter(contact=sophie).count() == 2
    assert ContactConversation.objects.filter(contact=karim).count() == 2
    # Syncing again adds nothing.
    mailbox_sync(mailbox_id=synced.pk)
    assert Contact.objects.filter(workspace=workspace).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_sync_worker_process_makes_contacts(workspace, dovecot):
    user, password = dovecot.add_user("worker")
    with dovecot.connect(user) as imap:
        imap.append("INBOX", mail(1, SOPHIE, to="worker@lycee-verne.fr"))
        imap.append("INBOX", mail(2, KARIM, to="worker@lycee-verne.fr"))
    mailbox = mailbox_create(
        workspace=workspace,
        address="worker@lycee-verne.fr",
        credentials={"imap_password": password},
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
    )
    done = subprocess.run(
        sync_command(mailbox, batch_size=1),
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert Contact.objects.filter(workspace=workspace).count() == 2
    assert Organisation.objects.filter(workspace=workspace).count() == 1


def test_linking_costs_the_same_queries_for_ten_or_two_hundred(workspace, alice):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="INBOX:1:1", raw=mail(1, SOPHIE))],
    )
    conversation = Conversation.objects.get(mailbox=mailbox)
    now = timezone.now()

    def queries(count: int, start: int) -> int:
        seen = [
            Seen(conversation.pk, f"Parent {n}", f"parent{n}@famille-{start}-{n % 7}.fr", now)
            for n in range(start, start + count)
        ]
        with CaptureQueriesContext(connection) as captured:
            contacts_link(workspace=workspace, seen=seen)
        return len(captured.captured_queries)

    assert queries(10, 0) == queries(200, 1000)
    # Known people only: fewer queries still, whatever their number.
    assert queries(10, 0) <= queries(200, 5000)


def test_search_through_tokens_by_name_and_address_parts(synced, workspace):
    keys = keys_for(workspace)

    def search(q: str) -> set[str]:
        return _names(contacts_page(keys, workspace, query=q))

    assert search("sophie") == {"Sophie Martin"}
    assert search("Benali") == {"Karim Benali"}
    assert search("karim.benali@gmail.com") == {"Karim Benali"}
    assert search("gmail.com") == {"Karim Benali"}
    assert "Paul Durand" in search("durand")
    assert search("paul durand") == {"Paul Durand"}
    assert search("inconnu") == set()
    # The page in the browser's language, through the view.
    assert len(contacts_page(keys, workspace).rows) == 3


def test_contacts_page_keyset_pagination(workspace, alice_client, monkeypatch):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="INBOX:1:1", raw=mail(1, SOPHIE))],
    )
    conversation = Conversation.objects.get(mailbox=mailbox)
    contacts_link(
        workspace=workspace,
        seen=[
            Seen(conversation.pk, f"Parent {n}", f"parent{n}@famille.fr", timezone.now())
            for n in range(7)
        ],
    )
    monkeypatch.setattr("contacts.selectors.PAGE", 3)
    seen, after, pages = set(), None, 0
    while True:
        page = contacts_page(keys_for(workspace), workspace, after=after)
        seen |= {row.id for row in page.rows}
        pages += 1
        if page.after is None:
            break
        after = page.after
    assert len(seen) == 8 and pages == 3
    response = alice_client.get(reverse("contacts"), {"after": str(after)})
    assert response.status_code == 200


def test_merge_two_addresses_of_one_person(synced, workspace, alice, alice_client, bob_client):
    karim = _contact(workspace, "karim.benali@gmail.com")
    sophie = _contact(workspace, "sophie.martin@imprimerie-durand.fr")
    contact_note_save(contact=karim, body="Préfère être appelé le matin.", user=alice)
    contact_note_save(contact=sophie, body="Parent délégué.", user=alice)
    url = reverse("contacts_merge")
    # An agent cannot merge.
    assert bob_client.post(url, {"keep": karim.pk, "other": sophie.pk}).status_code == 403
    response = alice_client.post(url, {"keep": karim.pk, "other": sophie.pk})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=sophie.pk).exists()
    assert ContactAddress.objects.filter(contact=karim).count() == 2
    assert ContactConversation.objects.filter(contact=karim).count() == 4
    assert _contact(workspace, "sophie.martin@imprimerie-durand.fr").pk == karim.pk
    page = alice_client.get(reverse("contact", args=[karim.pk])).content.decode()
    assert "Préfère être appelé le matin." in page and "Parent délégué." in page
    assert "sophie.martin@imprimerie-durand.fr" in page
    # Both names find the merged contact.
    keys = keys_for(workspace)
    assert [r.id for r in contacts_page(keys, workspace, query="sophie").rows] == [karim.pk]


def test_merge_refuses_the_same_twice_and_odd_ids(synced, workspace, alice_client):
    karim = _contact(workspace, "karim.benali@gmail.com")
    url = reverse("contacts_merge")
    for data in ({"keep": karim.pk, "other": karim.pk}, {"keep": "x", "other": "²"}, {}):
        assert alice_client.post(url, data).status_code == 302
    assert Contact.objects.filter(pk=karim.pk).exists()


def test_note_is_sealed_at_rest(synced, workspace, alice_client):
    karim = _contact(workspace, "karim.benali@gmail.com")
    secret = "Allergie aux arachides, voir le PAI"
    response = alice_client.post(
        reverse("contact_note", args=[karim.pk]), {"body": secret}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and secret in response.content.decode()
    with connection.cursor() as cursor:
        for table in ("contacts_contact", "contacts_contactaddress", "contacts_organisation"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            for row in cursor.fetchall():
                raw = b"".join(
                    bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode() for v in row
                )
                for plain in (secret, "Karim", "benali", "gmail.com", "imprimerie", "Sophie"):
                    assert plain.encode() not in raw, (table, plain)
    assert secret in alice_client.get(reverse("contact", args=[karim.pk])).content.decode()


def test_panel_shows_the_requester_and_other_conversations(synced, workspace, alice_client):
    sophie = _contact(workspace, "sophie.martin@imprimerie-durand.fr")
    first, second = Conversation.objects.filter(workspace=workspace).order_by("id")[:2]
    page = alice_client.get(reverse("conversation", args=[first.pk])).content.decode()
    assert reverse("contact_panel", args=[first.pk]) in page and 'hx-trigger="load"' in page
    panel = alice_client.get(reverse("contact_panel", args=[first.pk])).content.decode()
    assert "Sophie Martin" in panel and "sophie.martin@imprimerie-durand.fr" in panel
    assert "Imprimerie" in panel
    assert "Facture 2026-118" in panel  # her other conversation
    assert "Devis brochures" not in panel  # the one being read is not "other"
    assert reverse("contact_note", args=[sophie.pk]) in panel
    assert second.pk


def test_panel_query_count_does_not_grow(synced, workspace, alice_client):
    conversation = Conversation.objects.filter(workspace=workspace).order_by("id").first()
    url = reverse("contact_panel", args=[conversation.pk])
    alice_client.get(url)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url)
    sophie = _contact(workspace, "sophie.martin@imprimerie-durand.fr")
    others = list(Conversation.objects.exclude(pk=conversation.pk))
    for _ in range(12):
        ContactConversation.objects.bulk_create(
            [ContactConversation(contact=sophie, conversation=c) for c in others],
            ignore_conflicts=True,
        )
    with CaptureQueriesContext(connection) as more:
        alice_client.get(url)
    assert len(more.captured_queries) == len(few.captured_queries)


def test_organisation_page_and_edit_by_role(synced, workspace, alice_client, bob_client):
    organisation = Organisation.objects.get(workspace=workspace)
    url = reverse("organisation", args=[organisation.pk])
    page = bob_client.get(url).content.decode()
    assert "Sophie Martin" in page and "Devis brochures" in page and "Facture 2026-118" in page
    assert bob_client.post(url, {"name": "X", "domain": "x.fr"}).status_code == 403
    assert (
        alice_client.post(url, {"name": "Imprimerie Durand", "domain": "nope"}).status_code == 400
    )
    response = alice_client.post(url, {"name": "Imprimerie Durand SA", "domain": "durand.fr"})
    assert response.status_code == 302
    assert "Imprimerie Durand SA" in alice_client.get(url).content.decode()


def test_agents_read_and_write_notes(synced, workspace, bob_client):
    karim = _contact(workspace, "karim.benali@gmail.com")
    response = bob_client.post(reverse("contact_note", args=[karim.pk]), {"body": "Rappeler"})
    assert response.status_code == 302
    assert "Rappeler" in bob_client.get(reverse("contact", args=[karim.pk])).content.decode()


def test_another_workspaces_ids_are_404(synced, workspace, charlie_client, charlie):
    karim = _contact(workspace, "karim.benali@gmail.com")
    sophie = _contact(workspace, "sophie.martin@imprimerie-durand.fr")
    # Charlie owns a workspace of his own: an admin there, a stranger here.
    assert Membership.objects.filter(user=charlie, role=Role.OWNER).exists()
    response = charlie_client.post(
        reverse("contacts_merge"), {"keep": karim.pk, "other": sophie.pk}
    )
    assert response.status_code == 404
    assert Contact.objects.filter(pk__in=[karim.pk, sophie.pk]).count() == 2
    page = charlie_client.get(reverse("contacts"), {"q": "karim"}).content.decode()
    assert "Karim" not in page


def test_hostile_search_input(synced, alice_client):
    for q in ("' OR 1=1 --", "<script>alert(1)</script>", "\x00", "é" * 500, "%", "@@@"):
        response = alice_client.get(reverse("contacts"), {"q": q, "after": "-1"})
        assert response.status_code in (200, 400)  # a NUL is refused by the request guard
        assert "<script>alert" not in response.content.decode()


def test_person_erasure_removes_the_contact(synced, workspace, alice):
    karim = _contact(workspace, "karim.benali@gmail.com")
    contact_note_save(contact=karim, body="Note à effacer", user=alice)
    exported = person_contacts_export(workspace=workspace, address="karim.benali@gmail.com")
    assert exported[0]["note"] == "Note à effacer" and exported[0]["name"] == "Karim Benali"
    assert len(contacts_export(workspace=workspace)) == 3
    person_erase(workspace=workspace, address="Karim.Benali@gmail.com")
    assert not Contact.objects.filter(pk=karim.pk).exists()
    assert not ContactAddress.objects.filter(contact_id=karim.pk).exists()
    assert Contact.objects.filter(workspace=workspace).count() == 2


def test_backfill_rebuilds_contacts_from_stored_mail(synced, workspace):
    before = Contact.objects.filter(workspace=workspace).count()
    links = ContactConversation.objects.count()
    Contact.objects.all().delete()
    Organisation.objects.all().delete()
    call_command("contacts_backfill", workspace.slug)
    assert Contact.objects.filter(workspace=workspace).count() == before
    assert ContactConversation.objects.count() == links
    call_command("contacts_backfill")  # again: nothing added
    assert Contact.objects.filter(workspace=workspace).count() == before


def test_never_clients_purge(synced, workspace):
    karim = _contact(workspace, "karim.benali@gmail.com")
    ContactConversation.objects.filter(contact=karim).delete()
    later = timezone.now() + timedelta(days=1)
    assert contacts_never_clients_purge(workspace=workspace, older_than=later) == 1
    assert not Contact.objects.filter(pk=karim.pk).exists()
    assert Contact.objects.filter(workspace=workspace).count() == 2


def test_a_contact_made_meanwhile_by_another_sync_does_not_fail_the_batch(
    synced, workspace, monkeypatch
):
    """The first look misses a contact another sync just committed: the insert hits the
    unique digest, the savepoint rolls back, the second try links to the existing contact."""
    import contacts.linking as linking

    real, calls = linking._known, []

    def stale_once(*args):
        calls.append(1)
        return {} if len(calls) == 1 else real(*args)

    monkeypatch.setattr(linking, "_known", stale_once)
    karim = _contact(workspace, "karim.benali@gmail.com")
    conversation = Conversation.objects.filter(workspace=workspace).order_by("-id").first()
    seen = [Seen(conversation.pk, "Karim", "karim.benali@gmail.com", timezone.now())]
    assert contacts_link(workspace=workspace, seen=seen) == 0
    assert len(calls) == 2
    assert ContactConversation.objects.filter(contact=karim, conversation=conversation).exists()
    assert Contact.objects.filter(workspace=workspace).count() == 3
