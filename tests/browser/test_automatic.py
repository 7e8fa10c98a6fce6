"""An admin sets up a mailbox's acknowledgement in French; a requester rates a closed
conversation from the closing mail's link, then adds a comment."""

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from inbox.actions.satisfaction import satisfaction_request_create
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, Mailbox, SatisfactionRating
from inbox.selectors.automatic import acknowledgement_texts
from tests.browser.session import log_in
from tests.mail import french_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _path(url: str) -> str:
    """The mail's link on the live server (the mail names the configured SITE_URL)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_an_admin_sets_up_the_acknowledgement_in_french(new_page, alice, workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    page = new_page()
    log_in(page, alice.email)
    page.goto("/mailboxes/")
    page.get_by_role("link", name="Messages automatiques").click()
    page.wait_for_url(f"**/mailboxes/{mailbox.pk}/automatic/")
    assert (
        "Bonjour {{ name }}," in page.get_by_label("Accusé de réception en français").input_value()
    )
    page.get_by_label("Accuser réception de chaque nouvelle conversation").check()
    page.get_by_label("Délai de réponse habituel (heures)").fill("48")
    page.get_by_label("Accusé de réception en français").fill(
        "Bonjour {{ name }},\nVotre demande {{ reference }} est bien arrivée."
    )
    page.get_by_label("Demander au demandeur d’évaluer la conversation une fois fermée").check()
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text(
        "Les messages automatiques de scolarite@lycee-verne.fr sont enregistrés."
    ).wait_for()
    mailbox = Mailbox.objects.get(pk=mailbox.pk)
    assert mailbox.auto_ack and mailbox.satisfaction and mailbox.expected_reply_hours == 48
    assert acknowledgement_texts(mailbox)["fr"].endswith("est bien arrivée.")

    # An unknown variable is refused in words, nothing saved.
    page.get_by_label("Accusé de réception en anglais").fill("Hello {{ nom }}")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Variable inconnue : nom.").wait_for()


def test_a_requester_rates_in_one_click_then_comments(new_page, alice, workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role="inbox"),
        mails=[RawMail(provider_key="k:1:1", raw=french_message(1), received_at=timezone.now())],
    )
    conversation = Conversation.objects.get()
    links = satisfaction_request_create(conversation=conversation)
    page = new_page()  # the requester: no account, no cookie of the team
    page.goto(_path(links["good"]))
    page.get_by_text("Votre évaluation est enregistrée : Bien.").wait_for()
    page.get_by_label("Quelque chose à ajouter ? (facultatif)").fill("Réponse rapide, merci")
    page.get_by_role("button", name="Envoyer le commentaire").click()
    page.get_by_text("Votre réponse est enregistrée.").wait_for()
    assert SatisfactionRating.objects.get().rating == "good"

    # The team sees the rating and the comment on the conversation.
    agent = new_page()
    log_in(agent, alice.email)
    agent.goto(f"/inbox/c/{conversation.pk}/")
    agent.get_by_text("Réponse rapide, merci").wait_for()
    # The link does not work twice.
    page.goto(_path(links["bad"]))
    page.get_by_text("Déjà évaluée").wait_for()
