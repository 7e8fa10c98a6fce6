"""Sending from the composer in a real Chromium: a reply to a non-ASCII name, undone within the
undo window and sent again, and a reply scheduled for "demain 8 h" — over a real SMTP server."""

import base64
import email
import re
from datetime import timedelta
from email import policy

import pytest
from django.utils import timezone

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.sending import outgoing_content, outgoing_send
from inbox.models import Conversation, FolderRole, Outgoing, SendState
from inbox.tasks import send_outgoing
from tests.browser.session import log_in
from tests.mail import loopback_mailbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMER = (
    b"From: =?utf-8?q?Sophie_Lef=C3=A8vre?= <sophie.lefevre@orange.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: Absence de Lucas\r\n"
    b"Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    b"Message-ID: <absence-lucas-1@orange.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Lucas sera absent jeudi.\r\n"
)


@pytest.fixture
def conversation(workspace, dovecot, smtp_server, monkeypatch):
    user, password = dovecot.add_user("scolarite")
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="1:1:1", raw=CUSTOMER)],
    )
    # No worker runs here: what reaches the broker is recorded, and the test plays the worker.
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: None)
    monkeypatch.setattr(send_outgoing, "apply_async", lambda *a, **kw: None)
    return Conversation.objects.get(mailbox=mailbox)


def _open_reply(page, conversation):
    page.goto(f"/inbox/c/{conversation.pk}/")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("r")
    page.locator("#composer-rich-body").wait_for()


def test_reply_to_a_non_ascii_name_undo_it_then_let_it_go(
    new_page, alice, conversation, smtp_server
):
    page = new_page()
    log_in(page, alice.email)
    _open_reply(page, conversation)
    # The name as people write it, never "=?utf-8?q?…".
    assert page.locator("#composer-to").input_value() == (
        "Sophie Lefèvre <sophie.lefevre@orange.fr>"
    )
    page.keyboard.type("Bonjour Madame Lefèvre, c’est noté.")
    with page.expect_navigation(timeout=30_000):
        page.locator("#composer-send").click()

    # Held for the undo window: "Annuler" is there, nothing has left.
    undo = page.get_by_role("button", name="Annuler", exact=True)
    undo.wait_for()
    page.get_by_text("Votre message part dans quelques secondes.").wait_for()
    outgoing = Outgoing.objects.get(conversation=conversation)
    assert outgoing.state == SendState.QUEUED
    with page.expect_navigation():
        page.keyboard.press("z")  # the shortcut for "Annuler"
    page.get_by_text("Pas envoyé : votre brouillon est de retour.").wait_for()
    editor = page.locator("#composer-rich-body")
    editor.wait_for()
    assert editor.inner_text().strip() == "Bonjour Madame Lefèvre, c’est noté."
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT
    assert smtp_server.messages == []

    # Sent again with Ctrl+Enter; this time the window passes and the worker sends it.
    editor.focus()
    with page.expect_navigation(timeout=30_000):
        page.keyboard.press("Control+Enter")
    page.get_by_role("button", name="Annuler", exact=True).wait_for()
    Outgoing.objects.filter(pk=outgoing.pk).update(lease_until=timezone.now())
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == ("sophie.lefevre@orange.fr",)
    assert b"=?utf-8?q?Sophie_Lef=C3=A8vre?=" in sent.raw or b"Lef=C3=A8vre" in sent.raw
    parsed = email.message_from_bytes(sent.raw, policy=policy.default)
    [to] = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Sophie Lefèvre", "sophie.lefevre@orange.fr")
    # Once it has left, "Annuler" goes from the page.
    page.reload()
    page.get_by_text("Votre message est envoyé", exact=False).or_(
        page.locator(".message-out")
    ).first.wait_for(timeout=20_000)
    assert page.get_by_role("button", name="Annuler", exact=True).count() == 0


def test_send_tomorrow_at_8(new_page, alice, conversation, smtp_server):
    page = new_page()
    log_in(page, alice.email)
    _open_reply(page, conversation)
    page.keyboard.type("Je vous confirme demain matin.")
    page.locator(".composer-later summary").click()
    with page.expect_navigation(timeout=30_000):
        page.get_by_role("button", name="Demain à 8 h").click()
    page.locator(".composer-scheduled").wait_for()
    outgoing = Outgoing.objects.get(conversation=conversation)
    when = timezone.localtime(outgoing.lease_until)
    assert (when.hour, when.minute) == (8, 0)
    assert when.date() == (timezone.localtime() + timedelta(days=1)).date()
    assert "8:00" in page.locator(".composer-scheduled").inner_text()
    # Nobody online at 8:00: the worker's claim before then takes nothing, at 8:00 it sends.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    Outgoing.objects.filter(pk=outgoing.pk).update(lease_until=timezone.now())
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    [sent] = smtp_server.messages
    assert "Je vous confirme demain matin." in outgoing_content(outgoing)["body"]
    assert b"demain matin" in sent.raw


LAWYER = (
    b"From: =?utf-8?q?Ma=C3=AEtre_Durand?= <durand@cabinet-avocats.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Cc: =?utf-8?q?Sophie_Lef=C3=A8vre?= <sophie.lefevre@orange.fr>\r\n"
    b"Subject: Re: Absence de Lucas\r\n"
    b"Date: Thu, 12 Nov 2026 11:15:00 +0100\r\n"
    b"Message-ID: <absence-lucas-2@cabinet-avocats.fr>\r\n"
    b"In-Reply-To: <absence-lucas-1@orange.fr>\r\n"
    b"References: <absence-lucas-1@orange.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Mon analyse, confidentielle.\r\n"
)


def test_reply_all_to_a_third_party_warns_that_the_requester_is_copied(
    new_page, alice, conversation
):
    ingest_batch(
        mailbox=conversation.mailbox,
        folder=conversation.mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="1:1:2", raw=LAWYER)],
    )
    page = new_page()
    log_in(page, alice.email)
    page.goto(f"/inbox/c/{conversation.pk}/")
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Répondre à tous").click()
    page.locator("#composer-rich-body").wait_for()
    assert page.locator("#composer-to").input_value() == "Maître Durand <durand@cabinet-avocats.fr>"
    page.keyboard.type("Merci Maître, bien reçu.")
    page.locator("#composer-send").click()

    # Nothing left: the warning names who and why, and the button says what it does.
    warning = page.locator('.composer-outside li[data-reason="requester_copied"]')
    warning.wait_for()
    text = " ".join(warning.inner_text().split())
    assert text.startswith("Sophie Lefèvre <sophie.lefevre@orange.fr>")
    assert "a ouvert cette conversation et recevrait une copie de votre message à" in text
    assert "durand@cabinet-avocats.fr" in text
    assert Outgoing.objects.get(conversation=conversation).state == SendState.DRAFT
    send = page.locator("#composer-send")
    assert send.inner_text() == "Envoyer quand même"
    # One click confirms.
    with page.expect_navigation(timeout=30_000):
        send.click()
    page.get_by_role("button", name="Annuler", exact=True).wait_for()
    assert Outgoing.objects.get(conversation=conversation).state == SendState.QUEUED


# A real 1x1 PNG (red), as a screenshot pasted from the clipboard would be.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def test_rich_text_with_a_pasted_image_arrives_intact(
    new_page, alice, conversation, smtp_server, dovecot
):
    page = new_page()
    log_in(page, alice.email)
    _open_reply(page, conversation)
    # On by default; "Mise en forme : activée" would turn it off for this browser.
    page.get_by_role("button", name="Mise en forme : activée").wait_for()
    editor = page.locator("#composer-rich-body")
    assert editor.evaluate("element => element === document.activeElement")
    page.keyboard.type("Bonjour ")
    page.keyboard.press("Control+b")
    page.keyboard.type("Madame Lefèvre")
    page.keyboard.press("Control+b")
    page.keyboard.type(",")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Liste à puces").click()
    page.keyboard.type("le certificat")
    page.keyboard.press("Enter")
    page.keyboard.type("la photo ci-dessous")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    # A screenshot pasted from the clipboard.
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "capture.png", { type: "image/png" }));
            const root = document.getElementById("composer-rich-body");
            root.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
        }""",
        base64.b64encode(PNG).decode(),
    )
    _send_and_check_the_image_arrives_intact(page, conversation, smtp_server, dovecot)
    outgoing = Outgoing.objects.get(conversation=conversation)
    content = outgoing_content(outgoing)
    assert "<strong>Madame Lefèvre</strong>" in content["html"]
    for raw in _sent_and_filed(conversation, smtp_server, dovecot):
        parsed = email.message_from_bytes(raw, policy=policy.default)
        text = parsed.get_body(("plain",)).get_content()
        assert "Bonjour *Madame Lefèvre*," in text
        assert "- le certificat\n- la photo ci-dessous" in text.replace("\r\n", "\n")
        html = parsed.get_body(("html",)).get_content()
        assert "<strong>Madame Lefèvre</strong>" in html and "<li>le certificat</li>" in html


def test_a_dragged_image_arrives_intact(new_page, alice, conversation, smtp_server, dovecot):
    page = new_page()
    log_in(page, alice.email)
    _open_reply(page, conversation)
    page.get_by_role("button", name="Mise en forme : activée").wait_for()
    page.keyboard.type("Voici la photo :")
    page.keyboard.press("Enter")
    # A file dragged from the desktop and dropped in the editor, where the text is.
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "photo.png", { type: "image/png" }));
            const root = document.getElementById("composer-rich-body");
            const box = root.getBoundingClientRect();
            const at = { clientX: box.left + 10, clientY: box.top + 10 };
            for (const type of ["dragenter", "dragover", "drop"]) {
                root.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true, ...at }));
            }
        }""",
        base64.b64encode(PNG).decode(),
    )
    _send_and_check_the_image_arrives_intact(page, conversation, smtp_server, dovecot)
    for raw in _sent_and_filed(conversation, smtp_server, dovecot):
        parsed = email.message_from_bytes(raw, policy=policy.default)
        assert "Voici la photo :" in parsed.get_body(("plain",)).get_content()


def _sent_and_filed(conversation, smtp_server, dovecot) -> list[bytes]:
    """What the SMTP server took for the conversation's one reply, and its copy filed in Sent."""
    outgoing = Outgoing.objects.get(conversation=conversation)
    [sent] = smtp_server.messages
    with dovecot.connect(conversation.mailbox.imap_username) as imap:
        imap.select_folder("Sent", readonly=True)
        [uid] = imap.search(["HEADER", "Message-ID", outgoing_content(outgoing)["message_id"]])
        filed = imap.fetch([uid], [b"RFC822"])[uid][b"RFC822"]
    return [sent.raw, filed]


def _send_and_check_the_image_arrives_intact(page, conversation, smtp_server, dovecot) -> None:
    """With an image in the editor: autosaved, sent, and PNG arrives byte for byte as an inline
    cid: part, both at the SMTP server and in the copy filed in Sent."""
    editor = page.locator("#composer-rich-body")
    editor.locator("img").wait_for()
    # The autosave keeps it on the server, sanitised, the image as a sealed cid: part.
    page.locator("#composer-status", has_text=":").wait_for()
    outgoing = Outgoing.objects.get(conversation=conversation)
    page.wait_for_function("() => document.getElementById('composer-html').value.includes('<img')")
    with page.expect_navigation(timeout=30_000):
        page.locator("#composer-send").click()
    page.get_by_role("button", name="Annuler", exact=True).wait_for()
    content = outgoing_content(Outgoing.objects.get(pk=outgoing.pk))
    assert "cid:" in content["html"] and "data:" not in content["html"]

    Outgoing.objects.filter(pk=outgoing.pk).update(lease_until=timezone.now())
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    for raw in _sent_and_filed(conversation, smtp_server, dovecot):
        parsed = email.message_from_bytes(raw, policy=policy.default)
        html = parsed.get_body(("html",)).get_content()
        [cid] = re.findall(r'src="cid:([^"]+)"', html)
        [image] = [p for p in parsed.walk() if p["Content-ID"] == f"<{cid}>"]
        assert image.get_content_type() == "image/png"
        assert image.get_content() == PNG  # byte for byte
        assert [a.get_filename() for a in parsed.iter_attachments()] == []  # inline, not a file
