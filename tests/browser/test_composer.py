"""The composer in a real Chromium: alice presses r, inserts a saved reply and sends it over a
real SMTP server, while bob, in his own browser context, sees that she is replying."""

import email
from email import policy

import pytest
from playwright.sync_api import expect

from inbox.actions.saved_replies import saved_reply_create
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.sending import outgoing_content, outgoing_send
from inbox.models import Conversation, Direction, FolderRole, Message, Outgoing, SendState
from inbox.tasks import send_outgoing
from tests.browser.session import log_in
from tests.mail import loopback_mailbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMER = (
    "From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    "To: scolarite@lycee-verne.fr\r\n"
    "Subject: Absence de Léa\r\n"
    "Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    "Message-ID: <absence-lea-1@exemple.fr>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Léa sera absente jeudi.\r\n"
).encode()


@pytest.fixture
def conversation(workspace, dovecot, smtp_server, monkeypatch):
    user, password = dovecot.add_user("scolarite")
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    # Sent at once here; the undo window has its own test (tests/browser/test_composer.py).
    workspace.undo_send_seconds = 0
    workspace.save(update_fields=["undo_send_seconds"])
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="1:1:1", raw=CUSTOMER)],
    )
    # The worker's part, done at once in the web process (the task is queued on commit).
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: outgoing_send(outgoing_id=pk))
    return Conversation.objects.get(mailbox=mailbox)


def test_reply_with_a_saved_reply_while_bob_watches(
    new_page, alice, bob, workspace, conversation, smtp_server
):
    saved_reply_create(
        workspace=workspace,
        mailbox=None,
        title="Absence bien notée",
        body="Bonjour {{ customer.first_name }},\n\nL’absence est bien notée.",
        created_by=alice,
    )
    saved_reply_create(
        workspace=workspace,
        mailbox=None,
        title="Formule de politesse",
        body="Bien cordialement,\n{{ agent.first_name }}",
        created_by=alice,
    )
    url = f"/inbox/c/{conversation.pk}/"

    bob_page = new_page()
    log_in(bob_page, bob.email)
    bob_page.goto(url)

    page = new_page()
    log_in(page, alice.email)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.keyboard.press("r")
    # The rich editor takes the keyboard; the (hidden) textarea holds its text for the form.
    editor = page.locator("#composer-rich-body")
    editor.wait_for()
    assert editor.evaluate("element => element === document.activeElement")
    body = page.locator("#composer-body")
    page.keyboard.type("Merci. ")

    # Bob's page hears about it through its heartbeat, within a few seconds.
    bob_page.locator(".presence-replying", has_text=alice.name).wait_for(timeout=20_000)
    # Meanwhile the draft was saved on the server by itself (debounced autosave).
    page.locator("#composer-status", has_text=":").wait_for()
    draft = Outgoing.objects.get(conversation=conversation)
    assert outgoing_content(draft)["body"] == "Merci."  # the server's text of the HTML

    page.locator(".composer-saved summary").click()
    page.get_by_role("button", name="Absence bien notée").click()
    page.wait_for_function(
        "() => document.getElementById('composer-body').value.includes('Bonjour Sophie,')"
    )
    assert body.input_value() == "Merci. Bonjour Sophie,\n\nL’absence est bien notée."

    # "#" at the start of a word picks one with the keyboard, in place of the "#".
    page.keyboard.type("\n\n#")
    filter_box = page.locator("#composer-saved-filter")
    page.wait_for_function("() => document.activeElement.id === 'composer-saved-filter'")
    page.keyboard.type("polit")
    assert page.locator("#composer-saved-list li:visible").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('composer-body').value.endsWith('Alice')")
    assert body.input_value() == (
        "Merci. Bonjour Sophie,\n\nL’absence est bien notée.\n\nBien cordialement,\nAlice"
    )
    assert not filter_box.is_visible()
    # The autosave keeps it on the server; bob's page says alice has a draft.
    bob_page.locator(".presence-draft", has_text=alice.name).wait_for(timeout=20_000)

    # Generous waits: the send (SMTP, then the copy in Dovecot's Sent) runs in the request here.
    with page.expect_navigation(timeout=30_000):
        page.locator("#composer-send").click()
    # Written in the rich editor: the sent copy has an HTML part, shown in its sandboxed frame.
    page.frame_locator(".message-out .message-frame").locator(
        "body", has_text="L’absence est bien notée."
    ).wait_for(timeout=30_000)

    outgoing = Outgoing.objects.get(conversation=conversation)
    assert outgoing.state == SendState.SENT
    assert (
        Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND).count() == 1
    )
    # Alice closes her page: bob stops seeing her without waiting for the entry to expire.
    # (Sent, her page reloaded: she is back to viewing.)
    bob_page.locator(".presence-viewing", has_text=alice.name).wait_for(timeout=20_000)
    page.close()
    expect(bob_page.locator(".presence-person", has_text=alice.name)).to_have_count(
        0, timeout=20_000
    )

    [sent] = smtp_server.messages
    assert sent.rcpt_tos == ("sophie.martin@exemple.fr",)
    text = email.message_from_bytes(sent.raw, policy=policy.default).get_body(("plain",))
    assert text.get_content().startswith("Merci. Bonjour Sophie,")
