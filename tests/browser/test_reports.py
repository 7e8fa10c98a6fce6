"""The reports page in Chromium, in French: the period form, the figures, the charts with their
accessible titles and tables, and a CSV download that holds the page's numbers."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inbox.actions.triage import conversation_set_status
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, Mailbox
from tests.browser.session import log_in
from tests.mail import french_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def mail(workspace, alice):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    Mailbox.objects.filter(pk=mailbox.pk).update(created_at=datetime(2026, 2, 1, tzinfo=PARIS))
    mailbox.refresh_from_db()
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            RawMail(
                provider_key=f"{folder.pk}:1:{n}",
                raw=french_message(n, subject=f"Demande {n}"),
                received_at=datetime(2026, 3, 2, 9, tzinfo=PARIS) + timedelta(days=n),
            )
            for n in range(3)
        ],
    )
    first = Conversation.objects.order_by("first_message_at").first()
    conversation_set_status(conversation=first, status="closed", actor=alice)


def test_reports_page_in_french(new_page, alice, mail):
    page = new_page()
    log_in(page, alice.email)
    page.get_by_role("link", name="Rapports").click()
    page.wait_for_url("**/reports/")
    assert page.get_by_role("heading", level=1).inner_text() == "Rapports"

    page.get_by_label("Du").fill("2026-03-01")
    page.get_by_label("Au").fill("2026-03-07")
    page.get_by_role("button", name="Afficher le rapport").click()
    page.wait_for_url("**/reports/?since=2026-03-01*")
    assert page.locator("#figure-received").inner_text() == "3"
    assert page.get_by_role("heading", name="Conversations reçues et fermées").is_visible()
    assert page.get_by_role("img", name="3 conversations reçues et 0 fermées sur la période")
    assert page.locator("svg title").count() >= 4
    assert page.get_by_role("heading", name="Heures les plus chargées").is_visible()

    page.locator("#h-volume").locator("..").get_by_text("Les chiffres en tableau").click()
    table = page.locator("#table-volume")
    assert table.is_visible()
    assert "Total" in table.inner_text()

    with page.expect_download() as download:
        page.locator("#h-volume a").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        rows = list(csv.reader(io.StringIO(exported.read())))
    assert rows[0] == ["Jour", "Reçues", "Fermées"]
    assert rows[-1] == ["Total", "3", "0"]
    assert ["2026-03-02", "1", "0"] in rows

    page.get_by_label("Afficher").select_option("week")
    page.get_by_role("button", name="Afficher le rapport").click()
    page.wait_for_url("**group=week*")
    assert "Semaine du" in page.locator("#table-volume").text_content()  # in its <details>
