"""The first morning: alice signs up, confirms her address, creates the workspace and
invites bob; bob signs up, confirms his address, accepts; both see the workspace and each other."""

import re

import pytest
from django.core import mail

from accounts.models import Membership, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _link(pattern: str) -> str:
    for message in reversed(mail.outbox):
        found = re.search(pattern, message.body)
        if found:
            return found.group(0)
    raise AssertionError(
        f"no mail with a link matching {pattern}: {[m.subject for m in mail.outbox]}"
    )


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _fill_passwords(page, password: str) -> None:
    page.get_by_label(re.compile(r"^Mot de passe\W*$")).fill(password)
    page.get_by_label("Mot de passe (confirmation)").fill(password)
    page.get_by_role("button", name="Création de compte").click()


def test_signup_workspace_invite_accept(new_page, settings):
    settings.SITE_URL = "http://testserver"
    alice = new_page()
    alice.goto("/accounts/signup/")
    alice.get_by_label("Courriel").fill("alice@lycee-verne.fr")
    alice.get_by_label("Votre nom").fill("Alice Martin")
    _fill_passwords(alice, "un-mot-de-passe-solide")
    alice.wait_for_url("**/accounts/confirm-email/")

    alice.goto(_path(_link(r"https?://\S+/accounts/confirm-email/\S+")))
    alice.get_by_role("button", name="Confirmer").click()
    alice.wait_for_url("**/workspaces/new/")

    alice.get_by_label("Nom de l’espace de travail").fill("Lycée Jules Verne")
    alice.locator("input[name=accept_terms]").check()  # the data-processing terms
    alice.get_by_role("button", name="Créer l’espace de travail").click()
    alice.wait_for_url("**/inbox/")
    assert "Lycée Jules Verne" in alice.locator(".workspace-menu").inner_text()

    alice.locator(".settings-menu summary").click()  # the "Réglages" menu
    alice.get_by_role("menuitem", name="Équipe").click()
    alice.get_by_label("Adresse e-mail").fill("bob@lycee-verne.fr")
    alice.get_by_role("button", name="Envoyer l’invitation").click()
    assert "bob@lycee-verne.fr" in alice.locator(".toasts").inner_text()

    bob = new_page()
    bob.goto(_path(_link(r"https?://\S+/invitations/\S+/")))
    bob.get_by_role("link", name="Créer mon compte").click()
    assert bob.get_by_label("Courriel").input_value() == "bob@lycee-verne.fr"
    bob.get_by_label("Votre nom").fill("Bob Durand")
    _fill_passwords(bob, "un-autre-mot-de-passe")
    # Holding the link is not owning the address: bob confirms it from his mailbox too.
    bob.wait_for_url("**/accounts/confirm-email/")
    bob.goto(_path(_link(r"https?://\S+/accounts/confirm-email/\S+")))
    bob.get_by_role("button", name="Confirmer").click()
    bob.wait_for_url("**/invitations/**")
    bob.get_by_role("button", name="Accepter l’invitation").click()
    bob.wait_for_url("**/inbox/")
    assert "Lycée Jules Verne" in bob.locator(".workspace-menu").inner_text()

    alice.reload()
    members = alice.locator(".member-list").first.inner_text()
    assert "Bob Durand" in members and "Alice Martin" in members
    assert Membership.objects.get(user__email="bob@lycee-verne.fr").role == Role.AGENT
