"""The composer in the conversation page: drafts saved as one types, files, signatures, the
draft guard, the outside-recipient confirmation, and replies sent over a real SMTP server
(aiosmtpd) and filed in a real Dovecot's Sent folder."""

import email
import re
from email import policy

import pytest
from django.urls import reverse

from accounts.keys import keys_for
from inbox.actions import compose as drafting
from inbox.actions.signatures import mailbox_signature_set
from inbox.actions.triage import note_add
from inbox.mail.sending import drafts as drafts_module
from inbox.mail.sending import outgoing_attachments, outgoing_content, outgoing_send
from inbox.models import (
    Direction,
    Mailbox,
    Message,
    Outgoing,
    OutgoingKind,
    SendState,
)
from inbox.selectors.signatures import mailbox_signature
from inbox.tasks import send_outgoing
from tests.mail import loopback_mailbox, received_message
from trupeo.storage import object_store

# Real commits: queuing the task and deleting files happen on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

SHARED = "scolarite@lycee-verne.fr"

CUSTOMER = (
    "From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    "To: Scolarité <scolarite@lycee-verne.fr>, Paul Martin <paul.martin@exemple.fr>\r\n"
    "Cc: Direction <direction@lycee-verne.fr>\r\n"
    "Reply-To: Sophie (bureau) <s.martin@bureau.exemple.fr>\r\n"
    "Subject: Absence de Léa le 12 novembre\r\n"
    "Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    "Message-ID: <absence-lea-1@exemple.fr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Bonjour,\r\n\r\nLéa sera absente jeudi pour un rendez-vous médical.\r\nSophie\r\n"
).encode()

FOLLOW_UP = (
    "From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    "To: scolarite@lycee-verne.fr\r\n"
    "Subject: Re: Absence de Léa le 12 novembre\r\n"
    "Date: Thu, 12 Nov 2026 11:00:00 +0100\r\n"
    "Message-ID: <absence-lea-2@exemple.fr>\r\n"
    "In-Reply-To: <absence-lea-1@exemple.fr>\r\n"
    "References: <absence-lea-1@exemple.fr>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Finalement elle viendra l'après-midi.\r\n"
).encode()


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """Celery is not under test: record what `delay_on_commit`-style queuing hands it."""
    calls: list[int] = []
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: calls.append(pk))
    return calls


@pytest.fixture(autouse=True)
def no_undo_window(workspace):
    """These tests send at once; the undo window and sending later are tests/test_send_later.py."""
    workspace.undo_send_seconds = 0
    workspace.save(update_fields=["undo_send_seconds"])


@pytest.fixture
def english(alice, bob):
    for user in (alice, bob):
        user.language = "en"
        user.save(update_fields=["language"])


@pytest.fixture
def mailbox(workspace, dovecot, smtp_server):
    user, password = dovecot.add_user("scolarite")
    return loopback_mailbox(
        workspace,
        dovecot,
        smtp_server,
        user=user,
        password=password,
        address=SHARED,
        name="Scolarité Lycée Jules Verne",
    )


def _receive(mailbox: Mailbox, raw: bytes = CUSTOMER, uid: int = 1) -> Message:
    return received_message(mailbox, raw, uid)


@pytest.fixture
def customer(mailbox) -> Message:
    return _receive(mailbox)


def _open(client, conversation, kind="reply"):
    response = client.post(
        reverse("composer_open", args=[conversation.pk]), {"kind": kind}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    return Outgoing.objects.filter(conversation=conversation).latest("pk"), response


def _seen(html: str) -> str:
    return re.search(r'name="seen" value="([^"]+)"', html).group(1)


def _send(client, outgoing, **data):
    return client.post(reverse("draft_send", args=[outgoing.pk]), data, HTTP_HX_REQUEST="true")


def _reply_sent(client, conversation):
    """A short reply to the customer, opened and sent as the composer does."""
    outgoing, response = _open(client, conversation)
    _send(
        client,
        outgoing,
        to="s.martin@bureau.exemple.fr",
        subject="Re",
        body="Oui",
        seen=_seen(response.content.decode()),
    )
    return outgoing


def _parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


# --- opening ------------------------------------------------------------------------------------


def test_reply_takes_reply_to_over_from(alice_client, customer, english):
    outgoing, response = _open(alice_client, customer.conversation)
    content = outgoing_content(outgoing)
    assert [a["address"] for a in content["to"]] == ["s.martin@bureau.exemple.fr"]
    assert content["cc"] == []
    assert content["subject"] == "Re: Absence de Léa le 12 novembre"
    html = response.content.decode()
    assert 'id="composer-body"' in html
    assert "s.martin@bureau.exemple.fr" in html


def test_reply_all_adds_to_and_cc_minus_our_address(alice_client, customer):
    outgoing, _response = _open(alice_client, customer.conversation, kind="reply_all")
    content = outgoing_content(outgoing)
    to = [a["address"] for a in content["to"]]
    cc = [a["address"] for a in content["cc"]]
    assert to == ["s.martin@bureau.exemple.fr"]
    assert set(cc) == {
        "sophie.martin@exemple.fr",
        "paul.martin@exemple.fr",
        "direction@lycee-verne.fr",
    }
    assert SHARED not in to + cc


def test_opening_again_resumes_the_same_draft(alice_client, customer):
    first, _ = _open(alice_client, customer.conversation)
    again, _ = _open(alice_client, customer.conversation)
    assert first.pk == again.pk
    forward, _ = _open(alice_client, customer.conversation, kind="forward")
    assert forward.pk != first.pk and forward.kind == OutgoingKind.FORWARD
    assert outgoing_content(forward)["to"] == []


def test_the_page_resumes_my_draft_and_not_bobs(alice_client, bob_client, customer):
    outgoing, _ = _open(alice_client, customer.conversation)
    url = reverse("composer_slot", args=[customer.conversation.pk])
    assert f'data-draft="{outgoing.pk}"' in alice_client.get(url).content.decode()
    assert "composer-form" not in bob_client.get(url).content.decode()


def test_the_conversation_page_has_the_composer_and_presence(alice_client, customer):
    html = alice_client.get(reverse("conversation", args=[customer.conversation.pk])).content
    html = html.decode()
    assert 'data-shortcut="reply"' in html
    assert reverse("composer_slot", args=[customer.conversation.pk]) in html
    assert reverse("conversation_presence", args=[customer.conversation.pk]) in html


# --- writing ------------------------------------------------------------------------------------


def test_autosave_seals_the_draft(alice_client, customer, english):
    outgoing, _ = _open(alice_client, customer.conversation)
    response = alice_client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {"to": "s.martin@bureau.exemple.fr", "subject": "Re: Absence", "body": "Bien noté, merci."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Draft saved at" in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing_content(outgoing)["body"] == "Bien noté, merci."
    assert b"Bien not" not in bytes(outgoing.content_sealed)


def test_a_mistyped_address_does_not_lose_the_text(alice_client, customer, english):
    outgoing, _ = _open(alice_client, customer.conversation)
    response = alice_client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {"to": "sophie@@exemple", "subject": "Re: Absence", "body": "Texte précieux"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "is not a valid email address" in html
    assert "The rest of the draft is saved." in html
    content = outgoing_content(Outgoing.objects.get(pk=outgoing.pk))
    assert content["body"] == "Texte précieux"
    assert [a["address"] for a in content["to"]] == ["s.martin@bureau.exemple.fr"]  # unchanged


def test_bob_sees_that_alice_has_a_draft_but_cannot_touch_it(
    alice_client, bob_client, customer, english
):
    outgoing, _ = _open(alice_client, customer.conversation)
    html = bob_client.post(
        reverse("conversation_presence", args=[customer.conversation.pk])
    ).content.decode()
    assert "Alice Martin has a draft" in html
    for name in ("draft", "draft_save", "draft_send", "draft_discard", "draft_attachments"):
        assert bob_client.post(reverse(name, args=[outgoing.pk]), {"body": "x"}).status_code == 404
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.DRAFT
    assert outgoing_content(outgoing)["body"] == ""


def test_discard_deletes_the_draft_and_its_files(alice_client, customer):
    outgoing, _ = _open(alice_client, customer.conversation)
    alice_client.post(
        reverse("draft_attachments", args=[outgoing.pk]),
        {"file": _upload("note.txt", b"contenu")},
        HTTP_HX_REQUEST="true",
    )
    key = outgoing_content(Outgoing.objects.get(pk=outgoing.pk))["attachments"][0]["key"]
    assert object_store().exists(key)
    response = alice_client.post(
        reverse("draft_discard", args=[outgoing.pk]), HTTP_HX_REQUEST="true"
    )
    assert response["HX-Redirect"] == reverse("conversation", args=[customer.conversation.pk])
    assert not Outgoing.objects.filter(pk=outgoing.pk).exists()
    assert not object_store().exists(key)


# --- files ------------------------------------------------------------------------------------


def _upload(name, data, content_type="text/plain"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


def test_files_are_sealed_and_sent(alice_client, customer, queued, smtp_server, english):
    outgoing, response = _open(alice_client, customer.conversation)
    pdf = b"%PDF-1.4 certificat medical de Lea " * 100
    response = alice_client.post(
        reverse("draft_attachments", args=[outgoing.pk]),
        {"file": _upload("../../certificat médical.pdf", pdf, "application/pdf")},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "certificat médical.pdf" in response.content.decode()
    [entry] = outgoing_attachments(Outgoing.objects.get(pk=outgoing.pk))
    assert entry["filename"] == "certificat médical.pdf"  # no path from the browser
    key = outgoing_content(Outgoing.objects.get(pk=outgoing.pk))["attachments"][0]["key"]
    stored = object_store().get(key)
    assert b"certificat medical" not in stored  # ciphertext only

    html = alice_client.get(reverse("composer_slot", args=[customer.conversation.pk]))
    response = _send(
        alice_client,
        outgoing,
        to="s.martin@bureau.exemple.fr",
        subject="Re: Absence",
        body="Ci-joint le certificat.",
        seen=_seen(html.content.decode()),
    )
    assert response.status_code == 204, response.content.decode()
    assert queued == [outgoing.pk]
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    sent = _parsed(smtp_server.messages[-1].raw)
    [part] = list(sent.iter_attachments())
    assert part.get_filename() == "certificat médical.pdf"
    assert part.get_content() == pdf
    assert not object_store().exists(key)  # the copy went with the sealed MIME


def test_too_large_files_are_refused_in_words(alice_client, customer, monkeypatch, english):
    monkeypatch.setattr(drafts_module, "MAX_ATTACHMENTS_BYTES", 1000)
    outgoing, _ = _open(alice_client, customer.conversation)
    before = set(object_store().iter_keys())
    response = alice_client.post(
        reverse("draft_attachments", args=[outgoing.pk]),
        {"file": _upload("gros.bin", b"x" * 1001)},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "may total" in response.content.decode()
    assert outgoing_attachments(Outgoing.objects.get(pk=outgoing.pk)) == []
    assert set(object_store().iter_keys()) == before
    # Two files that fit one by one but not together: the second is refused.
    alice_client.post(
        reverse("draft_attachments", args=[outgoing.pk]),
        {"file": _upload("a.txt", b"a" * 600)},
        HTTP_HX_REQUEST="true",
    )
    alice_client.post(
        reverse("draft_attachments", args=[outgoing.pk]),
        {"file": _upload("b.txt", b"b" * 600)},
        HTTP_HX_REQUEST="true",
    )
    names = [a["filename"] for a in outgoing_attachments(Outgoing.objects.get(pk=outgoing.pk))]
    assert names == ["a.txt"]


def test_a_file_can_be_removed(alice_client, customer):
    outgoing, _ = _open(alice_client, customer.conversation)
    url = reverse("draft_attachments", args=[outgoing.pk])
    alice_client.post(url, {"file": _upload("a.txt", b"a")}, HTTP_HX_REQUEST="true")
    [entry] = outgoing_attachments(Outgoing.objects.get(pk=outgoing.pk))
    alice_client.post(url, {"remove": entry["token"]}, HTTP_HX_REQUEST="true")
    assert outgoing_attachments(Outgoing.objects.get(pk=outgoing.pk)) == []


# --- sending ------------------------------------------------------------------------------------


def test_reply_is_sent_with_signature_and_appears_in_the_conversation(
    alice_client, customer, queued, smtp_server, dovecot, english
):
    mailbox_signature_set(
        mailbox=customer.mailbox, signature="Lycée Jules Verne\n12 rue des Écoles, Nantes"
    )
    conversation = customer.conversation
    outgoing, response = _open(alice_client, conversation)
    response = _send(
        alice_client,
        outgoing,
        to="Sophie (bureau) <s.martin@bureau.exemple.fr>",
        subject="Re: Absence de Léa le 12 novembre",
        body="Bonjour Madame,\n\nC’est noté.",
        seen=_seen(response.content.decode()),
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("conversation", args=[conversation.pk])
    assert queued == [outgoing.pk]
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.QUEUED

    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("s.martin@bureau.exemple.fr",)
    text = _parsed(received.raw).get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Bonjour Madame,\n\nC’est noté.\n\n-- \nLycée Jules Verne\n12 rue")
    assert "> Léa sera absente jeudi" in text
    sent = Message.objects.get(conversation=conversation, direction=Direction.OUTBOUND)
    assert Outgoing.objects.get(pk=outgoing.pk).message_id == sent.pk
    page = alice_client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    assert "C’est noté." in page or "C&#x27;est noté" in page or "C’est noté" in page


def test_sending_twice_sends_once(alice_client, customer, queued):
    outgoing, response = _open(alice_client, customer.conversation)
    data = {
        "to": "s.martin@bureau.exemple.fr",
        "subject": "Re: x",
        "body": "Oui.",
        "seen": _seen(response.content.decode()),
    }
    assert _send(alice_client, outgoing, **data).status_code == 204
    again = _send(alice_client, outgoing, **data)
    assert again.status_code == 204  # back to the conversation, with a sentence
    assert queued == [outgoing.pk]


def test_no_recipient_is_an_error_in_words(alice_client, customer, queued, english):
    outgoing, response = _open(alice_client, customer.conversation)
    response = _send(
        alice_client,
        outgoing,
        to="",
        subject="Re: x",
        body="Oui.",
        seen=_seen(response.content.decode()),
    )
    assert "Add at least one recipient." in response.content.decode()
    assert queued == []
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.DRAFT


def test_without_javascript_the_composer_is_a_page(alice_client, customer, queued):
    response = alice_client.post(
        reverse("composer_open", args=[customer.conversation.pk]), {"kind": "reply"}
    )
    outgoing = Outgoing.objects.get(conversation=customer.conversation)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("draft", args=[outgoing.pk]) + "?seen=m")
    page = alice_client.get(response["Location"]).content.decode()
    assert "<html" in page and 'id="composer-form"' in page
    response = alice_client.post(
        reverse("draft_send", args=[outgoing.pk]),
        {"to": "s.martin@bureau.exemple.fr", "subject": "Re", "body": "Oui", "seen": _seen(page)},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[customer.conversation.pk])
    assert queued == [outgoing.pk]


# --- the draft guard ------------------------------------------------------------------------------


def test_guard_shows_what_arrived_and_asks_before_sending(
    alice_client, bob, customer, queued, english
):
    conversation = customer.conversation
    outgoing, response = _open(alice_client, conversation)
    seen = _seen(response.content.decode())
    _receive(customer.mailbox, FOLLOW_UP, uid=2)
    note_add(conversation=conversation, author=bob, body="Je l'ai eue au téléphone, c'est réglé.")
    assert Message.objects.get(provider_key__endswith=":1:2").conversation_id == conversation.pk

    data = {"to": "s.martin@bureau.exemple.fr", "subject": "Re", "body": "Réponse", "seen": seen}
    response = _send(alice_client, outgoing, **data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "This arrived in the conversation since you started writing" in html
    assert "Finalement elle viendra" in html
    assert "au téléphone" in html and "note by Bob Durand" in html
    assert "Send anyway" in html
    assert queued == [] and Outgoing.objects.get(pk=outgoing.pk).state == SendState.DRAFT
    assert outgoing_content(Outgoing.objects.get(pk=outgoing.pk))["body"] == "Réponse"

    # Sending again from the form that showed it: the new marker says it was seen.
    data["seen"] = _seen(html)
    assert data["seen"] != seen
    assert _send(alice_client, outgoing, **data).status_code == 204
    assert queued == [outgoing.pk]


def test_guard_with_a_damaged_marker_asks(alice_client, customer, queued):
    outgoing, _ = _open(alice_client, customer.conversation)
    response = _send(
        alice_client, outgoing, to="s.martin@bureau.exemple.fr", subject="Re", body="x", seen="zz"
    )
    assert response.status_code == 200 and queued == []


def test_arrived_since_counts_only_newer(customer, bob):
    conversation = customer.conversation
    keys = keys_for(conversation.workspace)
    marker = drafting.seen_marker(conversation)
    assert drafting.arrived_since(keys, conversation, marker) == []
    note_add(conversation=conversation, author=bob, body="Vu.")
    [arrival] = drafting.arrived_since(keys, conversation, marker)
    assert (arrival.kind, arrival.who, arrival.text) == ("note", "Bob Durand", "Vu.")


# --- outside recipients -----------------------------------------------------------------------


def test_a_new_outside_address_must_be_confirmed(alice_client, bob, customer, queued, english):
    outgoing, response = _open(alice_client, customer.conversation)
    data = {
        "to": "s.martin@bureau.exemple.fr",
        # Known in the conversation, a colleague's domain, a teammate: no question for those.
        "cc": f"paul.martin@exemple.fr, cpe@lycee-verne.fr, {bob.email}, inconnu@ailleurs.fr",
        "subject": "Re",
        "body": "Bonjour",
        "seen": _seen(response.content.decode()),
    }
    response = _send(alice_client, outgoing, **data)
    html = response.content.decode()
    assert "New recipients from outside your team" in html
    assert "inconnu@ailleurs.fr" in html
    assert "paul.martin@exemple.fr" not in html.split("New recipients")[1].split("</p>")[0]
    assert queued == []
    confirmed = re.findall(r'name="confirm_outside" value="([^"]+)"', html)
    assert confirmed == ["inconnu@ailleurs.fr"]

    # Another outside address added meanwhile is asked about too.
    data["cc"] += ", autre@ailleurs.fr"
    data["confirm_outside"] = confirmed
    html = _send(alice_client, outgoing, **data).content.decode()
    assert re.findall(r'name="confirm_outside" value="([^"]+)"', html) == ["autre@ailleurs.fr"]
    assert queued == []

    data["confirm_outside"] = ["inconnu@ailleurs.fr", "autre@ailleurs.fr"]
    assert _send(alice_client, outgoing, **data).status_code == 204
    assert queued == [outgoing.pk]


def test_autosave_warns_about_outside_addresses_early(alice_client, customer, english):
    outgoing, _ = _open(alice_client, customer.conversation, kind="forward")
    html = alice_client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {"to": "avocat@cabinet.fr", "subject": "Fwd", "body": ""},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Outside this conversation: avocat@cabinet.fr" in html


# --- new messages -------------------------------------------------------------------------------


def test_new_message_from_a_chosen_mailbox(alice_client, mailbox, queued, smtp_server, english):
    assert "New message" in alice_client.get(reverse("compose_new")).content.decode()
    response = alice_client.post(reverse("compose_new"), {"mailbox": mailbox.pk})
    outgoing = Outgoing.objects.get(kind=OutgoingKind.NEW)
    assert response["Location"] == reverse("draft", args=[outgoing.pk])
    assert 'id="composer-form"' in alice_client.get(response["Location"]).content.decode()
    response = alice_client.post(
        reverse("draft_send", args=[outgoing.pk]),
        {
            "to": "famille@exemple.fr",
            "subject": "Réunion",
            "body": "Bonjour",
            "confirm_outside": "famille@exemple.fr",  # asked first, like a reply (see below)
        },
    )
    assert response.status_code == 302 and queued == [outgoing.pk]
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert smtp_server.messages[-1].rcpt_tos == ("famille@exemple.fr",)
    # Filed: a new conversation holds it.
    sent = Outgoing.objects.get(pk=outgoing.pk)
    assert sent.message is not None and sent.message.conversation_id is not None


def test_new_message_refuses_another_workspaces_mailbox(charlie_client, mailbox):
    response = charlie_client.post(reverse("compose_new"), {"mailbox": mailbox.pk})
    assert response.status_code == 200
    assert not Outgoing.objects.exists()


# --- signatures -----------------------------------------------------------------------------------


def test_admins_set_the_signature_sealed(alice_client, bob_client, mailbox, english):
    url = reverse("mailbox_signature", args=[mailbox.pk])
    assert bob_client.post(url, {"signature": "pirate"}).status_code == 403
    response = alice_client.post(
        url, {"signature": "Lycée Jules Verne — RGPD : dpo@lycee-verne.fr"}
    )
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox_signature(mailbox) == "Lycée Jules Verne — RGPD : dpo@lycee-verne.fr"
    assert b"dpo@lycee" not in bytes(mailbox.signature_sealed)
    page = alice_client.get(reverse("mailbox_edit", args=[mailbox.pk])).content.decode()
    assert "dpo@lycee-verne.fr" in page
    response = alice_client.post(url, {"signature": "x" * 4001})
    assert response.status_code == 400
    assert mailbox_signature(Mailbox.objects.get(pk=mailbox.pk)).startswith("Lycée")
    alice_client.post(url, {"signature": ""})
    assert Mailbox.objects.get(pk=mailbox.pk).signature_sealed is None


# --- after sending ------------------------------------------------------------------------------


def test_a_failed_message_is_shown_with_its_reason_and_can_be_sent_again(
    alice_client, bob_client, customer, queued, english
):
    outgoing = _reply_sent(alice_client, customer.conversation)
    slot = reverse("composer_slot", args=[customer.conversation.pk])
    html = alice_client.get(slot).content.decode()
    assert "on its way" in html and 'hx-trigger="every 3s"' in html  # watched until it leaves
    Outgoing.objects.filter(pk=outgoing.pk).update(
        state=SendState.FAILED, last_error="Le serveur a refusé le message."
    )
    html = alice_client.get(slot).content.decode()
    assert "Your message was not sent." in html and "Le serveur a refusé" in html
    assert "every 3s" not in html  # nothing more to watch
    retry = reverse("outgoing_retry", args=[outgoing.pk])
    assert bob_client.post(retry).status_code == 404
    assert alice_client.post(retry).status_code == 302
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.QUEUED
    assert queued == [outgoing.pk, outgoing.pk]


def test_a_read_only_workspace_keeps_the_draft_and_says_why(
    alice_client, workspace, customer, queued, english
):
    from django.utils import timezone

    outgoing, response = _open(alice_client, customer.conversation)
    type(workspace).objects.filter(pk=workspace.pk).update(read_only_since=timezone.now())
    response = _send(
        alice_client,
        outgoing,
        to="s.martin@bureau.exemple.fr",
        subject="Re",
        body="Texte à garder",
        seen=_seen(response.content.decode()),
    )
    assert response.status_code == 200
    assert "read-only until its subscription is renewed" in response.content.decode()
    assert queued == []
    kept = Outgoing.objects.get(pk=outgoing.pk)
    assert kept.state == SendState.DRAFT and outgoing_content(kept)["body"] == "Texte à garder"


# --- at rest ------------------------------------------------------------------------------------


def test_nothing_the_composer_keeps_is_in_clear(alice_client, alice, customer):
    from inbox.actions.saved_replies import saved_reply_create
    from tests.test_at_rest import _database_bytes

    secrets = {
        "body": "Confidentiel-corps-du-brouillon",
        "subject": "Objet-tres-secret-42",
        "to": "destinataire.secret@exemple.fr",
        "file": b"Contenu-du-fichier-joint-secret",
        "filename": "nom-de-fichier-secret.pdf",
        "signature": "Signature-legale-secrete",
        "title": "Titre-de-reponse-secret",
        "saved": "Texte-de-reponse-secret",
    }
    mailbox_signature_set(mailbox=customer.mailbox, signature=secrets["signature"])
    saved_reply_create(
        workspace=customer.workspace,
        mailbox=None,
        title=secrets["title"],
        body=secrets["saved"],
        created_by=alice,
    )
    outgoing, _ = _open(alice_client, customer.conversation)
    alice_client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {"to": secrets["to"], "subject": secrets["subject"], "body": secrets["body"]},
        HTTP_HX_REQUEST="true",
    )
    alice_client.post(
        reverse("draft_attachments", args=[outgoing.pk]),
        {"file": _upload(secrets["filename"], secrets["file"])},
        HTTP_HX_REQUEST="true",
    )
    content = outgoing_content(Outgoing.objects.get(pk=outgoing.pk))
    assert content["body"] == secrets["body"] and content["attachments"]  # really stored

    store = object_store()
    haystack = _database_bytes() + b"".join(store.get(k) for k in store.iter_keys("ws/"))
    needles = [v if isinstance(v, bytes) else v.encode() for v in secrets.values()]
    assert [n for n in needles if n in haystack] == []


def test_without_javascript_the_marker_survives_saving_and_errors(
    alice_client, customer, queued, english
):
    conversation = customer.conversation
    response = alice_client.post(
        reverse("composer_open", args=[conversation.pk]), {"kind": "reply"}
    )
    outgoing = Outgoing.objects.get(conversation=conversation)
    seen = drafting.seen_marker(conversation)
    assert response["Location"].endswith(f"?seen={seen}")
    _receive(customer.mailbox, FOLLOW_UP, uid=2)  # arrives while the page is open
    page = alice_client.get(response["Location"]).content.decode()
    assert _seen(page) == seen  # not the newer state: the person has not seen it
    data = {"to": "bad@@", "subject": "Re", "body": "Texte", "seen": seen}
    page = alice_client.post(reverse("draft_send", args=[outgoing.pk]), data).content.decode()
    assert "is not a valid email address" in page and _seen(page) == seen
    saved = alice_client.post(reverse("draft_save", args=[outgoing.pk]), {**data, "to": ""})
    assert saved["Location"].endswith(f"?seen={seen}")
    data["to"] = "s.martin@bureau.exemple.fr"
    page = alice_client.post(reverse("draft_send", args=[outgoing.pk]), data).content.decode()
    assert "Finalement elle viendra" in page and queued == []


# --- limits on who a message goes to --------------------------------------------------------


def _new_draft(client, mailbox) -> Outgoing:
    client.post(reverse("compose_new"), {"mailbox": mailbox.pk})
    return Outgoing.objects.filter(kind=OutgoingKind.NEW).latest("pk")


def _addresses(count: int) -> str:
    return ", ".join(f"parent{i}@exemple.fr" for i in range(count))


def test_a_new_message_to_an_outside_address_must_be_confirmed(
    alice_client, mailbox, queued, english
):
    outgoing = _new_draft(alice_client, mailbox)
    fields = {"to": "Famille Martin <famille@exemple.fr>", "subject": "Réunion", "body": "Bonjour"}
    # The autosave warns early…
    status = alice_client.post(
        reverse("draft_save", args=[outgoing.pk]), fields, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Outside your team: famille@exemple.fr" in status
    # …and the first press sends nothing, naming the address.
    html = _send(alice_client, outgoing, **fields).content.decode()
    assert "Recipients from outside your team:" in html and "famille@exemple.fr" in html
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.DRAFT and queued == []
    # Confirming another address does not confirm this one.
    _send(alice_client, outgoing, **fields, confirm_outside="autre@exemple.fr")
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.DRAFT and queued == []
    response = _send(alice_client, outgoing, **fields, confirm_outside="famille@exemple.fr")
    assert response.status_code == 204
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.QUEUED
    assert queued == [outgoing.pk]


def test_a_new_message_to_the_team_is_not_asked_about(alice_client, bob, mailbox, queued, english):
    outgoing = _new_draft(alice_client, mailbox)
    response = _send(
        alice_client,
        outgoing,
        to="bob@lycee-verne.fr, direction@lycee-verne.fr",
        subject="Conseil de classe",
        body="Bonjour",
    )
    assert response.status_code == 204 and queued == [outgoing.pk]


def test_1501_recipients_are_refused_with_a_sentence(
    alice_client, mailbox, queued, smtp_server, english
):
    outgoing = _new_draft(alice_client, mailbox)
    html = _send(
        alice_client,
        outgoing,
        to=_addresses(1001),
        cc=_addresses(1501)[len(_addresses(1001)) + 2 :],
        subject="Kermesse",
        body="Bonjour à toutes les familles",
    ).content.decode()
    assert (
        "This message has 1,501 recipients; this workspace allows at most 100 per message "
        "(To, Cc and Bcc together)." in html
    )
    assert "Recipients from outside your team" not in html  # not 1,501 names to confirm
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT and queued == []
    assert len(outgoing_content(outgoing)["to"]) + len(outgoing_content(outgoing)["cc"]) == 1501
    # The service refuses it too, whoever calls it.
    from django.core.exceptions import ValidationError

    from inbox.mail.sending import outgoing_queue

    with pytest.raises(ValidationError, match="1,501 recipients"):
        outgoing_queue(outgoing=outgoing)
    assert smtp_server.messages == []


def test_only_the_owner_changes_the_recipient_limit(
    alice_client, bob, bob_client, workspace, mailbox, queued, english
):
    from accounts.models import Membership, Role, Workspace

    limit_url = reverse("workspace_recipient_limit")
    team = bob_client.get(reverse("members")).content.decode()
    assert "at most 100 recipients" in team and limit_url not in team  # an agent only reads it
    assert bob_client.post(limit_url, {"max_recipients": 2000}).status_code == 403
    Membership.objects.filter(user=bob, workspace=workspace).update(role=Role.ADMIN)
    assert bob_client.post(limit_url, {"max_recipients": 2000}).status_code == 403
    assert Workspace.objects.get(pk=workspace.pk).max_recipients == 100

    assert limit_url in alice_client.get(reverse("members")).content.decode()
    alice_client.post(limit_url, {"max_recipients": 5000})  # over what any provider takes
    assert Workspace.objects.get(pk=workspace.pk).max_recipients == 100
    for hostile in ("-1", "0", "abc", "1e9999", "9" * 40, ""):
        assert alice_client.post(limit_url, {"max_recipients": hostile}).status_code == 302
    assert Workspace.objects.get(pk=workspace.pk).max_recipients == 100
    response = alice_client.post(limit_url, {"max_recipients": 2}, follow=True)
    assert "The recipient limit is saved." in response.content.decode()
    assert Workspace.objects.get(pk=workspace.pk).max_recipients == 2

    outgoing = _new_draft(alice_client, mailbox)
    fields = {"subject": "Réunion", "body": "Bonjour", "confirm_outside": ["a@exemple.fr"]}
    html = _send(
        alice_client, outgoing, to="a@exemple.fr, b@lycee-verne.fr, c@lycee-verne.fr", **fields
    )
    assert "at most 2 per message" in html.content.decode() and queued == []
    response = _send(alice_client, outgoing, to="a@exemple.fr, b@lycee-verne.fr", **fields)
    assert response.status_code == 204 and queued == [outgoing.pk]


def test_a_message_waiting_for_its_next_try_says_when(alice_client, customer, queued):
    from datetime import timedelta

    from django.utils import timezone

    outgoing = _reply_sent(alice_client, customer.conversation)
    next_try = timezone.now() + timedelta(minutes=5)
    Outgoing.objects.filter(pk=outgoing.pk).update(
        lease_until=next_try,
        attempts=1,
        last_error="Le serveur SMTP 127.0.0.1 a demandé de réessayer plus tard (451 4.3.0 Busy).",
    )
    slot = reverse("composer_slot", args=[customer.conversation.pk]) + "?part=outbox"
    html = alice_client.get(slot).content.decode()  # alice reads French
    local = timezone.localtime(next_try)
    assert f"Nouvel essai à {local:%H}\u00a0h\u00a0{local:%M}." in html  # « 14 h 32 »
    assert "451 4.3.0 Busy" in html
    assert 'hx-trigger="every 30s"' in html  # watched, slowly, until it leaves
    assert reverse("outgoing_retry", args=[outgoing.pk]) in html  # "Try now"


def test_a_new_message_waiting_for_its_next_try_is_shown_where_it_was_written(
    alice_client, bob_client, mailbox, queued, english
):
    from datetime import timedelta

    from django.utils import timezone

    outgoing = _new_draft(alice_client, mailbox)
    _send(alice_client, outgoing, to="bob@lycee-verne.fr", subject="Réunion", body="Bonjour")
    next_try = timezone.now() + timedelta(minutes=2)
    Outgoing.objects.filter(pk=outgoing.pk).update(
        state=SendState.QUEUED,
        attempts=1,  # as a deferral leaves it (attempts 0 would be a send held for undo)
        lease_until=next_try,
        last_error="The SMTP server 127.0.0.1 asked to try again later (451 4.3.0 Busy).",
    )
    html = alice_client.get(reverse("compose_new")).content.decode()
    local = timezone.localtime(next_try)
    assert "Your messages on their way" in html and "451 4.3.0 Busy" in html
    assert f"Will try again at {local:%H}:{local:%M}." in html
    assert "451 4.3.0 Busy" not in bob_client.get(reverse("compose_new")).content.decode()
