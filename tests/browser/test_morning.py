"""A whole morning in two browsers: alice and bob triage together, new mail arriving through
the real sync (Dovecot), replies leaving through a real SMTP server.

Mail arrives → bob's list shows it by itself → alice opens it with the keyboard and starts a
reply → bob, on the same conversation, sees "alice is replying" → alice assigns it to bob
instead → bob's page updates by itself and he is notified → bob replies with a saved reply,
sends, closes with `e` → alice finds it again with search operators.
"""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inbox.actions.saved_replies import saved_reply_create
from inbox.mail.sending import outgoing_send
from inbox.mail.sync import mailbox_sync
from inbox.models import (
    Activity,
    Conversation,
    Direction,
    Message,
    Notification,
    Outgoing,
    SendState,
)
from inbox.tasks import send_outgoing
from tests.browser.session import log_in
from tests.mail import loopback_mailbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARENT_MAIL = (
    "From: Karim Benali <karim.benali@exemple.fr>\r\n"
    "To: scolarite@lycee-verne.fr\r\n"
    "Subject: Inscription de Yanis en 1re\r\n"
    "Date: {date}\r\n"
    "Message-ID: <inscription-yanis@exemple.fr>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Bonjour, quels documents faut-il fournir pour l’inscription de Yanis ?\r\n"
)


def test_a_morning_of_triage_together(
    new_page, alice, bob, workspace, dovecot, smtp_server, monkeypatch
):
    user, password = dovecot.add_user("scolarite")
    dovecot.create_folder(user, "Sent")
    # Sent at once here; the undo window has its own test (tests/browser/test_composer.py).
    workspace.undo_send_seconds = 0
    workspace.save(update_fields=["undo_send_seconds"])
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    saved_reply_create(
        workspace=workspace,
        mailbox=None,
        title="Pièces pour l’inscription",
        body="Bonjour {{ customer.first_name }},\n\nIl faut le livret scolaire et un justificatif "
        "de domicile.\n\n{{ agent.first_name }}",
        created_by=alice,
    )
    assert mailbox_sync(mailbox_id=mailbox.pk).ok  # connected: nothing yet
    # The worker's part, done at once in the web process (the task is queued on commit).
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: outgoing_send(outgoing_id=pk))

    alice_page, bob_page = new_page(), new_page()
    log_in(alice_page, alice.email)
    log_in(bob_page, bob.email)
    bob_page.goto("/inbox/?view=unassigned")

    # 08:30 — a parent writes; the real sync brings it in; bob's list shows it by itself.
    with dovecot.connect(user) as imap:
        date = timezone.now().strftime("%a, %d %b %Y %H:%M:%S +0000")
        imap.append("INBOX", PARENT_MAIL.format(date=date).encode())
    assert mailbox_sync(mailbox_id=mailbox.pk).new == 1
    conversation = Conversation.objects.get(mailbox=mailbox)
    bob_page.locator(".conv-row", has_text="Inscription de Yanis").wait_for(timeout=20_000)

    # Alice, on the keyboard: j, o, then r to start a reply.
    alice_page.goto("/inbox/")
    alice_page.keyboard.press("j")
    alice_page.keyboard.press("o")
    alice_page.wait_for_url(f"**/inbox/c/{conversation.pk}/")
    alice_page.wait_for_load_state("networkidle")
    alice_page.keyboard.press("r")
    alice_page.locator("#composer-rich-body").wait_for()  # the rich editor, focused
    alice_page.keyboard.type("Bonjour, ")

    # Bob opens the same conversation: alice is replying, nobody answers blind.
    bob_page.locator(".conv-row", has_text="Inscription de Yanis").click()
    bob_page.locator(".presence-replying", has_text=alice.name).wait_for(timeout=20_000)

    # Alice hands it to bob instead; bob's page follows by itself, and he is notified.
    alice_page.locator("#assignee").select_option(str(bob.pk))
    assigned = "Assignée à Bob Durand"  # the header line, not the <select> that names everyone
    alice_page.locator(".conv-head p", has_text=assigned).wait_for()
    bob_page.locator(".conv-head p", has_text=assigned).wait_for(timeout=20_000)
    bob_page.locator(".trail-assigned", has_text="Alice Martin").wait_for()
    assert Notification.objects.get(recipient=bob).kind == "assigned"

    # Bob replies with the saved reply and sends it.
    bob_page.locator("body").click()  # focus out of any field, so the shortcut applies
    bob_page.keyboard.press("r")
    bob_page.locator("#composer-rich-body").wait_for()
    bob_page.locator(".composer-saved summary").click()
    bob_page.get_by_role("button", name="Pièces pour l’inscription").click()
    bob_page.wait_for_function(
        "() => document.getElementById('composer-body').value.startsWith('Bonjour Karim,')"
    )
    with bob_page.expect_navigation(timeout=30_000):
        bob_page.locator("#composer-send").click()
    bob_page.frame_locator(".message-out .message-frame").locator(
        "body", has_text="livret scolaire"
    ).wait_for(timeout=30_000)
    assert Outgoing.objects.get(conversation=conversation, author=bob).state == SendState.SENT
    [sent] = smtp_server.messages
    assert sent.rcpt_tos == ("karim.benali@exemple.fr",)

    # Done: bob closes it with `e` and is back on his list.
    bob_page.locator("body").click()
    with bob_page.expect_navigation():
        bob_page.keyboard.press("e")
    bob_page.wait_for_url("**/inbox/")
    conversation.refresh_from_db()
    assert conversation.status == "closed" and conversation.assignee == bob

    # Later, alice finds it again with search operators, from the keyboard.
    alice_page.goto("/inbox/")
    alice_page.keyboard.press("/")
    alice_page.keyboard.type("assignee:bob is:closed from:benali documents")
    alice_page.keyboard.press("Enter")
    expect(alice_page.locator(".conv-row")).to_have_count(1)
    expect(alice_page.locator(".conv-row")).to_contain_text("Inscription de Yanis")

    kinds = set(Activity.objects.filter(conversation=conversation).values_list("kind", flat=True))
    assert {"assigned", "status"} <= kinds
    assert Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND).exists()
