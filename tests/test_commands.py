"""Operator commands: workspace_create and seed_demo."""

import io
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command

from accounts.models import Membership, Role, User, Workspace


def _run(*args) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.mark.django_db
def test_workspace_create_with_a_password_logs_in_at_once(monkeypatch, client):
    monkeypatch.setenv("TRUPEO_OWNER_PASSWORD", "un-mot-de-passe-solide")
    lines = _run("workspace_create", "Agence Horizon", "--owner", "Lea@Horizon.fr")
    workspace = Workspace.objects.get()
    assert lines[-1] == workspace.slug == "agence-horizon"
    owner = Membership.objects.get(workspace=workspace)
    assert owner.role == Role.OWNER and owner.user.email == "lea@horizon.fr"
    response = client.post(
        "/accounts/login/", {"login": "lea@horizon.fr", "password": "un-mot-de-passe-solide"}
    )
    assert response.status_code == 302 and response.url == "/"


@pytest.mark.django_db(transaction=True)
def test_workspace_create_without_password_prints_an_invitation(monkeypatch, client):
    monkeypatch.delenv("TRUPEO_OWNER_PASSWORD", raising=False)
    lines = _run("workspace_create", "Agence Horizon", "--owner", "lea@horizon.fr")
    assert lines[-1] == "agence-horizon"
    link = next(line for line in lines if "/invitations/" in line)
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    assert not User.objects.exists()
    path = re.sub(r"^https?://[^/]+", "", link)
    assert client.get(path).status_code == 200
    user = User.objects.create_user("lea@horizon.fr", "x" * 12)
    # Léa confirmed her address (only its owner accepts the invitation).
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)
    client.post(path)  # the owner must accept the data-processing terms: nothing happens
    assert not Membership.objects.filter(user=user).exists()
    client.post(path, {"accept_terms": "on"})
    assert Membership.objects.get(user=user).role == Role.OWNER


@pytest.mark.django_db
def test_workspace_create_refuses_a_bad_address():
    with pytest.raises(Exception, match="not a valid email"):
        _run("workspace_create", "X", "--owner", "pas-une-adresse")
