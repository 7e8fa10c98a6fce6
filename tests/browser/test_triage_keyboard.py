"""Keyboard triage and live updates in the browser: j/o/e and a list that refreshes itself."""

import pytest
from django.utils import timezone

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation
from tests.browser.session import log_in
from tests.mail import french_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_keyboard_shortcuts_and_live_list(new_page, alice, workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")

    def arrive(n):
        ingest_batch(
            mailbox=mailbox,
            folder=folder,
            mails=[
                RawMail(provider_key=f"k:1:{n}", raw=french_message(n), received_at=timezone.now())
            ],
        )

    arrive(1)
    page = new_page()
    log_in(page, alice.email)
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url("**/inbox/c/*/")
    with page.expect_navigation():
        page.keyboard.press("e")
    assert Conversation.objects.get().status == "closed"

    page.goto("/inbox/")
    page.keyboard.press("?")
    assert page.locator("#shortcuts-help").is_visible()
    page.keyboard.press("Escape")

    arrive(2)  # new mail while the list is open: it shows up without a reload
    page.locator(".conv-row").first.wait_for(timeout=15_000)
    assert "Absence n°2" in page.locator("#conv-list").inner_text()
