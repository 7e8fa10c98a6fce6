"""Assign, change status, note: recorded in the trail, sealed, scoped to the workspace."""

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Activity, Conversation, Note
from tests.mail import french_message, one_message_conversation


@pytest.fixture
def conversation(workspace):
    return one_message_conversation(workspace)


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


def test_every_triage_choice_is_among_the_workspace_own(alice_client, charlie, conversation):
    # The triage forms choose members, tags, conversations and messages in the workspace only:
    # charlie's tag, charlie himself and a conversation of his are each a 404, on the page and
    # in bulk, and nothing changes.
    from accounts.models import Membership
    from inbox.actions.tags import tag_create

    theirs = Membership.objects.get(user=charlie).workspace
    their_tag = tag_create(workspace=theirs, name="Confidentiel")
    their_mailbox = mailbox_create(workspace=theirs, address="contact@agence-ouest.fr")
    ingest_batch(
        mailbox=their_mailbox,
        folder=their_mailbox.folders.get(role="inbox"),
        mails=[RawMail(provider_key="x:1:9", raw=french_message(9), received_at=timezone.now())],
    )
    their_conversation = Conversation.objects.get(mailbox=their_mailbox)
    their_message = their_conversation.messages.get()
    for data in (
        {"action": "tag", "tag": str(their_tag.pk)},
        {"action": "untag", "tag": str(their_tag.pk)},
        {"action": "assign", "assignee": str(charlie.pk)},
        {"action": "merge", "into": f"#{their_conversation.pk}"},
        {"action": "split", "message": str(their_message.pk)},
        {"action": "trust_sender", "message": str(their_message.pk)},
    ):
        assert _triage(alice_client, conversation, **data).status_code == 404, data
    for data in (
        {"action": "tag", "tag": str(their_tag.pk)},
        {"action": "assign", "assignee": str(charlie.pk)},
    ):
        response = alice_client.post(
            reverse("conversations_bulk"), {"ids": conversation.pk, **data}
        )
        assert response.status_code == 404, data
    conversation.refresh_from_db()
    assert conversation.assignee is None and not conversation.tags.exists()
    assert not Activity.objects.filter(conversation=conversation).exists()
    # The same choices among alice's own go through.
    response = _triage(alice_client, conversation, action="assign", assignee="me")
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assignee is not None
