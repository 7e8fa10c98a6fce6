"""Forwarding to a third party with an internal note, over a real SMTP server (aiosmtpd) and a
real Dovecot: the original's files go with it, the note stays in the conversation's trail (sealed)
and never leaves, and "Undo" takes the note back with the draft."""

import email
import re
from email import policy
from email.message import EmailMessage

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.sealing import note_row
from inbox.mail.sending import outgoing_content, outgoing_send
from inbox.models import FolderRole, Message, Note, Outgoing, SendState
from tests.mail import loopback_mailbox
from tests.sending_tasks import sends_recorded

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Le parent conteste : avis juridique demandé, ne pas répondre avant jeudi."
PDF = b"%PDF-1.4\n% facture cantine novembre\n" + bytes(range(256)) * 40


def _request() -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = "Sophie Martin <sophie.martin@exemple.fr>"
    msg["To"] = "scolarite@lycee-verne.fr"
    msg["Subject"] = "Litige cantine"
    msg["Date"] = email.utils.format_datetime(timezone.now())
    msg["Message-ID"] = "<litige-1@exemple.fr>"
    msg.set_content("Bonjour, je conteste la facture ci-jointe.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="facture-novembre.pdf")
    return msg.as_bytes()


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    return sends_recorded(monkeypatch)


@pytest.fixture
def customer(workspace, dovecot, smtp_server) -> Message:
    user, password = dovecot.add_user("scolarite")
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    ingest_batch(
        mailbox=mailbox, folder=folder, mails=[RawMail(provider_key="1:1:1", raw=_request())]
    )
    return Message.objects.get(mailbox=mailbox)


def _forward(client, customer, **data):
    response = client.post(
        reverse("composer_open", args=[customer.conversation_id]),
        {"kind": "forward"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="composer-note"' in html  # the note field, on a forward only
    outgoing = Outgoing.objects.filter(conversation_id=customer.conversation_id).latest("pk")
    seen = re.search(r'name="seen" value="([^"]+)"', html).group(1)
    fields = {
        "to": "Maître Durand <durand@cabinet-avocats.fr>",
        "subject": "Fwd: Litige cantine",
        "body": "Maître, voici le courrier du parent.",
        "note": NOTE,
        "seen": seen,
        "confirm_outside": "durand@cabinet-avocats.fr",
        **data,
    }
    response = client.post(reverse("draft_send", args=[outgoing.pk]), fields)
    assert response.status_code == 302, response.content.decode()[-2000:]
    outgoing.refresh_from_db()
    return outgoing


def _note_text(note: Note) -> str:
    return keys_for(note.workspace).open_text(
        note.body_sealed, field="note.body", row=note_row(note.pk)
    )


def test_forward_with_a_note_sends_the_files_and_keeps_the_note_in_the_trail(
    alice_client, customer, smtp_server
):
    outgoing = _forward(alice_client, customer)
    [note] = Note.objects.filter(conversation=customer.conversation)
    assert outgoing.note_id == note.pk
    text = _note_text(note)
    assert text.startswith(NOTE)
    assert "Maître Durand <durand@cabinet-avocats.fr>" in text  # to whom it went
    assert NOTE.encode() not in bytes(note.body_sealed)  # sealed at rest
    page = alice_client.get(reverse("conversation", args=[customer.conversation_id]))
    assert "avis juridique demandé" in page.content.decode()

    Outgoing.objects.filter(pk=outgoing.pk).update(lease_until=timezone.now())
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == ("durand@cabinet-avocats.fr",)
    parsed = email.message_from_bytes(sent.raw, policy=policy.default)
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "facture-novembre.pdf"
    assert attachment.get_content() == PDF  # byte for byte
    body = parsed.get_body(("plain",)).get_content()
    assert "Maître, voici le courrier du parent." in body
    assert "je conteste la facture" in body  # the forwarded text
    # The note is for the team: in no part of what left.
    assert "avis juridique" not in sent.raw.decode("utf-8", "replace")
    assert "avis juridique" not in body


def test_undo_takes_the_note_back_with_the_draft_and_sending_again_adds_one(alice_client, customer):
    outgoing = _forward(alice_client, customer)
    assert Note.objects.filter(conversation=customer.conversation).count() == 1
    alice_client.post(reverse("outgoing_undo", args=[outgoing.pk]))
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT and outgoing.note_id is None
    assert Note.objects.filter(conversation=customer.conversation).count() == 0
    assert outgoing_content(outgoing)["note"] == NOTE  # still in the draft
    slot = alice_client.get(reverse("composer_slot", args=[customer.conversation_id]))
    assert NOTE in slot.content.decode()
    again = _forward(alice_client, customer)
    assert again.pk == outgoing.pk
    assert Note.objects.filter(conversation=customer.conversation).count() == 1


def test_a_note_posted_with_a_reply_is_never_added_nor_sent(alice_client, customer, smtp_server):
    response = alice_client.post(
        reverse("composer_open", args=[customer.conversation_id]),
        {"kind": "reply"},
        HTTP_HX_REQUEST="true",
    )
    assert 'id="composer-note"' not in response.content.decode()
    outgoing = Outgoing.objects.get(conversation_id=customer.conversation_id)
    seen = re.search(r'name="seen" value="([^"]+)"', response.content.decode()).group(1)
    alice_client.post(
        reverse("draft_send", args=[outgoing.pk]),
        {
            "to": "sophie.martin@exemple.fr",
            "subject": "Re",
            "body": "Reçu.",
            "note": NOTE,
            "seen": seen,
        },
    )
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.QUEUED
    assert not Note.objects.filter(conversation=customer.conversation).exists()
    Outgoing.objects.filter(pk=outgoing.pk).update(lease_until=timezone.now())
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert b"avis juridique" not in smtp_server.messages[0].raw
