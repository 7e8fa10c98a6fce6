"""Assign, change status, note: recorded in the trail, sealed, scoped to the workspace."""

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Activity, Conversation, Note
from tests.mail import french_message


@pytest.fixture
def conversation(workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[RawMail(provider_key="x:1:1", raw=french_message(1), received_at=timezone.now())],
    )
    return Conversation.objects.get()


def _triage(client, conversation, **data):
    return client.post(reverse("conversation_triage", args=[conversation.pk]), data)


def test_assign_status_and_note_appear_in_the_trail(alice_client, bob, conversation):
    _triage(alice_client, conversation, action="assign", assignee=str(bob.pk))
    _triage(alice_client, conversation, action="status", status="pending")
    _triage(alice_client, conversation, action="note", body="Appeler la famille demain")
    conversation.refresh_from_db()
    assert conversation.assignee == bob and conversation.status == "pending"
    assert Activity.objects.filter(conversation=conversation).count() == 3
    note = Note.objects.get()
    assert b"Appeler" not in bytes(note.body_sealed)  # sealed at rest
    page = alice_client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    assert "Appeler la famille demain" in page
    assert "Bob Durand" in page


def test_take_it_and_close(bob_client, bob, conversation):
    _triage(bob_client, conversation, action="assign", assignee="me")
    _triage(bob_client, conversation, action="status", status="closed")
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.status) == (bob, "closed")


def test_cannot_assign_to_someone_outside_the_workspace(alice_client, charlie, conversation):
    response = _triage(alice_client, conversation, action="assign", assignee=str(charlie.pk))
    assert response.status_code == 404
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_empty_note_and_unknown_status_change_nothing(alice_client, conversation):
    _triage(alice_client, conversation, action="note", body="   ")
    _triage(alice_client, conversation, action="status", status="deleted")
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert not Note.objects.exists() and not Activity.objects.exists()
