"""Invitations join only the person who owns the invited address, never whoever holds the link."""

import logging
import re
from datetime import timedelta
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, Role, Workspace
from tests.factories import UserFactory

INVITED = "nina@ecole-ouest.fr"
PASSWORD = "un-mot-de-passe-solide"


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def invitation(workspace, alice):
    return services.invitation_create(
        workspace=workspace, email=INVITED, role=Role.ADMIN, invited_by=alice
    )


@pytest.fixture
def link(invitation) -> str:
    return reverse("invitation_accept", args=[services.invitation_token(invitation)])


def _still_pending(invitation) -> bool:
    invitation.refresh_from_db()
    return invitation.is_pending and invitation.accepted_by is None


def test_another_account_holding_the_link_cannot_join(workspace, invitation, link, charlie):
    attacker = _login(charlie)
    page = attacker.get(link)
    assert page.status_code == 403
    text = page.content.decode()
    assert f"Cette invitation a été envoyée à {INVITED}" in text  # French by default, in words
    assert "déconnectez-vous pour l’accepter" in text
    assert 'action="/accounts/logout/"' in text
    assert attacker.post(link).status_code == 403
    assert attacker.post(link, {"accept_terms": "on"}).status_code == 403
    assert not Membership.objects.filter(workspace=workspace, user=charlie).exists()
    assert _still_pending(invitation)
    # The service refuses too, whatever calls it.
    with pytest.raises(ValidationError, match=INVITED):
        services.invitation_accept(invitation=invitation, user=charlie)

    # The invited person, whatever the letter case of their address, still joins.
    nina = UserFactory(email="Nina@Ecole-Ouest.FR")
    response = _login(nina).post(link)
    assert response.status_code == 302
    assert Membership.objects.get(workspace=workspace, user=nina).role == Role.ADMIN


def test_the_invited_address_not_yet_confirmed_cannot_join(workspace, invitation, link):
    # An account made with the invited address by someone who never received its mail.
    squatter = UserFactory(email=INVITED)
    EmailAddress.objects.filter(user=squatter).update(verified=False)
    client = _login(squatter)
    page = client.get(link)
    assert page.status_code == 403
    assert "n’est pas encore confirmée" in page.content.decode()
    assert client.post(link).status_code == 403
    assert not Membership.objects.filter(workspace=workspace, user=squatter).exists()
    assert _still_pending(invitation)


def _signup(client: Client, email: str):
    return client.post(
        reverse("account_signup") + f"?email={INVITED}",
        {"email": email, "name": "Quelqu’un", "password1": PASSWORD, "password2": PASSWORD},
    )


def _confirmation_path(to: str) -> str:
    message = next(m for m in reversed(mail.outbox) if m.to == [to])
    return re.search(r"https?://\S+?(/accounts/confirm-email/\S+/)", message.body)[1]


def test_signing_up_from_the_link_needs_the_invited_mailbox(workspace, invitation, link):
    # Whoever holds the link signs up with the invited address: nothing is granted until
    # the address is confirmed from its own mailbox.
    holder = Client()
    assert holder.get(link).status_code == 200
    response = _signup(holder, INVITED)
    assert response.url == reverse("account_email_verification_sent")
    assert not EmailAddress.objects.get(email=INVITED).verified
    assert holder.post(link).status_code == 200  # still a visitor: the page asks to sign up
    assert holder.get(reverse("members")).url.startswith(reverse("account_login"))
    assert not Membership.objects.filter(workspace=workspace, user__email=INVITED).exists()
    assert _still_pending(invitation)


def test_changing_the_address_on_the_signup_form_does_not_get_in(workspace, invitation, link):
    holder = Client()
    holder.get(link)
    response = _signup(holder, "mallory@ailleurs.fr")
    assert response.url == reverse("account_email_verification_sent")
    # mallory confirms her own address, logs in and comes back to the invitation: refused.
    back = holder.post(_confirmation_path("mallory@ailleurs.fr"))
    assert back.url == link
    page = holder.get(link)
    assert page.status_code == 403
    assert f"envoyée à {INVITED}" in page.content.decode()
    assert holder.post(link).status_code == 403
    assert (
        not Membership.objects.filter(workspace=workspace)
        .exclude(user__email="alice@lycee-verne.fr")
        .exists()
    )
    assert _still_pending(invitation)


def test_an_accepted_link_does_not_work_twice(workspace, invitation, link, charlie):
    nina = UserFactory(email=INVITED)
    nina_client = _login(nina)
    assert nina_client.post(link).status_code == 302
    first = Invitation.objects.get(pk=invitation.pk).accepted_at
    # Replayed by the same person, by another account, by a visitor: the link is spent.
    assert nina_client.post(link).status_code == 404
    assert _login(charlie).post(link).status_code == 404
    assert Client().get(link).status_code == 404
    assert not Membership.objects.filter(workspace=workspace, user=charlie).exists()
    assert Membership.objects.filter(workspace=workspace, user=nina).count() == 1
    assert Invitation.objects.get(pk=invitation.pk).accepted_at == first


def test_an_expired_link_does_not_work_even_for_the_invited_person(workspace, invitation, link):
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    nina = UserFactory(email=INVITED)
    page = _login(nina).post(link)
    assert page.status_code == 404
    assert "ne fonctionne plus" in page.content.decode()
    assert not Membership.objects.filter(workspace=workspace, user=nina).exists()


def test_the_operators_owner_invitation_follows_the_same_rule(monkeypatch, charlie):
    monkeypatch.delenv("TRUPEO_OWNER_PASSWORD", raising=False)
    out = StringIO()
    call_command(
        "workspace_create", "Mairie de Ploubazlanec", "--owner", "Maire@Ville.fr", stdout=out
    )
    path = re.search(r"https?://[^/\s]+(/invitations/\S+/)", out.getvalue())[1]
    workspace = Workspace.objects.get(slug=out.getvalue().split()[-1])

    attacker = _login(charlie)
    page = attacker.post(path, {"accept_terms": "on"})
    assert page.status_code == 403
    assert "envoyée à maire@ville.fr" in page.content.decode()
    assert not Membership.objects.filter(workspace=workspace).exists()  # still no owner

    mayor = UserFactory(email="maire@ville.fr")
    assert _login(mayor).post(path, {"accept_terms": "on"}).status_code == 302
    assert Membership.objects.get(workspace=workspace).user == mayor
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER


def test_refused_and_spent_links_leave_no_token_in_the_logs(invitation, link, charlie):
    # The console handler that settings.LOGGING configures, writing where we can read it.
    console = next(h for h in logging.getLogger().handlers if h.filters)
    written = StringIO()
    previous = console.setStream(written)
    try:
        token = link.rstrip("/").rsplit("/", 1)[1]
        _login(charlie).post(link)  # 403, logged by Django as "Forbidden: <path>"
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
        Client().get(link)  # 404, "Not Found: <path>"
        Client().get(f"/accounts/password/reset/key/{token}/")
    finally:
        console.setStream(previous)
    assert "Forbidden: /invitations/********/" in written.getvalue()
    assert "Not Found: /invitations/********/" in written.getvalue()
    assert token not in written.getvalue()
