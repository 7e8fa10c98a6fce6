"""The contact panel beside a conversation (in French, loaded after the page) and the
contacts page's search, in Chromium."""

import pytest
from django.utils import timezone

from contacts.models import Contact
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation
from tests.browser.session import log_in
from tests.mail import french_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_contact_panel_in_french_and_contacts_search(new_page, alice, workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")
    sender = "Sophie Martin <sophie.martin@imprimerie-durand.fr>"
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            RawMail(
                provider_key=f"k:1:{n}",
                raw=french_message(n, sender=sender, subject=subject),
                received_at=timezone.now(),
            )
            for n, subject in ((1, "Devis brochures"), (2, "Facture 2026-118"))
        ]
        + [RawMail(provider_key="k:1:3", raw=french_message(3), received_at=timezone.now())],
    )
    first = Conversation.objects.filter(workspace=workspace).order_by("id").first()
    page = new_page()
    log_in(page, alice.email)
    page.goto(f"/inbox/c/{first.pk}/")
    panel = page.locator(".contact-panel")
    panel.locator(".contact-name").wait_for()
    text = panel.inner_text()
    assert "Sophie Martin" in text and "sophie.martin@imprimerie-durand.fr" in text
    assert "Organisation" in text and "Imprimerie" in text
    # (the heading is upper-cased by the style sheet)
    assert "autres conversations" in text.lower() and "Facture 2026-118" in text
    assert "Devis brochures" not in text  # the conversation being read is not "other"
    assert "Ouverte" in text  # the other conversation's status, in French

    # The team's note, saved in place by htmx, then there on the next visit.
    panel.get_by_label("Note de l’équipe sur cette personne").fill("Préfère le téléphone.")
    panel.get_by_role("button", name="Enregistrer la note").click()
    panel.get_by_text("Enregistrée.").wait_for()
    page.reload()
    page.locator(".contact-panel .contact-name").wait_for()
    assert page.locator(".contact-panel textarea").input_value() == "Préfère le téléphone."

    page.goto("/contacts/")
    assert page.get_by_role("heading", name="Contacts").is_visible()
    page.get_by_label("Nom ou adresse").fill("martin")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_url("**/contacts/?q=martin")
    rows = page.locator(".contact-table tbody tr")
    assert rows.count() == 1 and "Sophie Martin" in rows.first.inner_text()
    page.get_by_label("Nom ou adresse").fill("inconnu")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_text("Aucun contact ne correspond à cette recherche.").wait_for()
    assert Contact.objects.filter(workspace=workspace).count() == 2
