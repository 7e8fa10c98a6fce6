"""In Chromium, in French: the owner opens the retention settings from "Vos données", sets a
policy, sees how much it would delete, confirms it; the nightly run applies it and the
receipt downloads — with no CSP violation on the way."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, Status
from privacy.gdpr.retention_run import retention_run
from privacy.models import DeletionReceipt, RetentionPolicy
from tests.factories import PASSWORD
from tests.privacy_data.conftest import ingest, mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_previews_and_applies_a_retention_policy(new_page, alice, workspace):
    box = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    ingest(
        box,
        [
            mail(sender=f"p{n}@example.fr", to=box.address, subject="Absence", message_id=f"{n}@e")
            for n in range(3)
        ],
    )
    old = list(Conversation.objects.order_by("id")[:2])
    Conversation.objects.filter(pk__in=[c.pk for c in old]).update(
        status=Status.CLOSED, closed_at=timezone.now() - timedelta(days=3 * 365 + 10)
    )
    Conversation.objects.exclude(pk__in=[c.pk for c in old]).update(
        status=Status.CLOSED, closed_at=timezone.now() - timedelta(days=30)
    )

    page = new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Courriel").fill(alice.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox/")

    page.goto("/settings/data/")
    page.get_by_role("link", name="Régler les durées de conservation").click()
    page.wait_for_url("**/settings/data/retention/")
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Ce qui est conservé, et pour combien de temps"
    )
    assert "Code de commerce" in page.content()  # invoices: 10 years, not editable
    page.get_by_label("Conversations fermées").select_option(label="3 ans")
    page.get_by_role("button", name="Voir ce qui sera supprimé").click()

    page.wait_for_url("**/settings/data/retention/preview/")
    row = page.locator("tr[data-category=closed_conversations]")
    assert row.locator("td.amount").inner_text() == "2"
    assert "3 ans" in row.inner_text()
    assert not RetentionPolicy.objects.exists()
    page.get_by_role("button", name="Confirmer cette politique").click()

    page.wait_for_url("**/settings/data/retention/")
    assert "La politique de conservation est enregistrée" in page.content()
    assert RetentionPolicy.objects.get().closed_conversations_days == 3 * 365

    retention_run(workspace_id=workspace.pk)  # what the nightly worker does
    assert Conversation.objects.count() == 1
    receipt = DeletionReceipt.objects.get()
    page.reload()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger (CSV)").click()
    body = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Conversations fermées,1095,2" in body
    assert "@" not in body
    assert download.value.suggested_filename.endswith(f"-{receipt.pk}.csv")
