"""The "Bientôt en retard" view in Chromium, in French: reached from the sidebar, sorted by
deadline, late conversations on their own tab, and the clock sentence on the conversation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inbox.models import Conversation
from tests.browser.session import log_in
from tests.sla.conftest import goals_for, office_calendar
from tests.sla.test_clocks import _mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_due_soon_view_in_french(new_page, alice, workspace):
    from inbox.mail.mailboxes import mailbox_create

    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    office_calendar(workspace)
    goals_for(mailbox, late_recipient=alice)
    now = timezone.now()
    _mail(mailbox, now - timedelta(days=3))  # late by now, whatever the day
    _mail(mailbox, now)
    late, soon = Conversation.objects.order_by("first_message_at")

    page = new_page()
    log_in(page, alice.email)
    page.get_by_role("link", name="Bientôt en retard").click()
    page.wait_for_url("**/inbox/due/")
    assert page.locator("h1").inner_text() == "Bientôt en retard"
    rows = page.locator(".conv-row")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-id") == str(soon.pk)
    assert "dans" in rows.first.inner_text() and "première réponse" in rows.first.inner_text()

    page.locator(".due-tabs").get_by_role("link", name="En retard", exact=True).click()
    page.wait_for_url("**/inbox/due/?view=late*")
    assert page.locator(".conv-row").first.get_attribute("data-id") == str(late.pk)
    assert "de retard" in page.locator(".due-badge").first.inner_text()

    page.locator(".conv-row").first.click()
    page.wait_for_url(f"**/inbox/c/{late.pk}/")
    assert "Première réponse attendue" in page.locator("#reply-clock").inner_text()
    assert "ouvrées de retard" in page.locator("#reply-clock").inner_text()
