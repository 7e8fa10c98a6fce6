"""Token lifecycle: shown once, hashed at rest, scoped, revoked, expired, last used."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken, TokenScope
from api.tokens import token_caller, token_revoke, token_touch
from tests.api.conftest import Api, make_token

pytestmark = pytest.mark.django_db


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(workspace, alice):
    created = make_token(workspace, alice)
    prefix, secret = created.secret.removeprefix("trp_").split("_", 1)
    token = ApiToken.objects.get()
    assert token.prefix == prefix
    assert token.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    # Neither the secret nor the name is anywhere in the table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        dump = repr(cursor.fetchall())
    assert secret not in dump and "Intégration" not in dump
    assert Api(created.secret).get("/me").json()["scope"] == "write"


def test_the_settings_page_shows_the_secret_once(alice_client, workspace):
    response = alice_client.post(
        reverse("api_tokens"),
        {"name": "Zapier", "role": "agent", "scope": "read", "lifetime": "30"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("trp_") and secret in response.content.decode()
    page = alice_client.get(reverse("api_tokens")).content.decode()
    assert secret not in page and "Zapier" in page
    token = ApiToken.objects.get()
    assert (token.role, token.scope) == ("agent", "read")
    assert token.expires_at - token.created_at == timedelta(days=30)


def test_only_admins_reach_the_tokens_page(bob_client, alice_client, workspace):
    assert bob_client.get(reverse("api_tokens")).status_code == 403
    assert bob_client.post(reverse("api_tokens"), {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_an_admin_cannot_create_a_token_above_their_role(workspace, bob):
    from django.core.exceptions import PermissionDenied, ValidationError

    from accounts.models import Membership

    with pytest.raises(PermissionDenied):
        make_token(workspace, bob, role="agent")  # agents create none
    Membership.objects.filter(user=bob).update(role="admin")
    make_token(workspace, bob, role="admin")
    with pytest.raises(ValidationError):
        make_token(workspace, bob, role="owner")


def test_revoked_expired_forged_tokens_are_401(workspace, alice, conversation):
    created = make_token(workspace, alice)
    api = Api(created.secret)
    assert api.get("/conversations").status_code == 200
    forged = created.secret[:-2] + ("AA" if not created.secret.endswith("AA") else "BB")
    for secret in (forged, "trp_" + "0" * 12 + "_x", "nonsense", "trp_", created.secret + "x"):
        response = Api(secret).get("/conversations")
        assert response.status_code == 401, secret
        assert response.json()["error"]["code"] == "unauthorized"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert Api(None).get("/conversations").status_code == 401
    token = ApiToken.objects.get()
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/conversations").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert api.get("/conversations").status_code == 200
    token_revoke(token=token)
    assert api.get("/conversations").status_code == 401


def test_revoking_from_the_settings_page(alice_client, workspace, alice, charlie_client):
    created = make_token(workspace, alice)
    url = reverse("api_token_revoke", args=[created.token.pk])
    assert charlie_client.post(url).status_code == 404
    assert Api(created.secret).get("/me").status_code == 200
    assert alice_client.post(url).status_code == 302
    assert Api(created.secret).get("/me").status_code == 401


def test_a_token_dies_with_its_creators_membership(workspace, alice, bob):
    from accounts.models import Membership

    Membership.objects.filter(user=bob).update(role="admin")
    created = make_token(workspace, bob, role="admin")
    assert Api(created.secret).get("/me").json()["role"] == "admin"
    # Demoted: the token's role follows down, never above the person's.
    Membership.objects.filter(user=bob).update(role="agent")
    assert Api(created.secret).get("/me").json()["role"] == "agent"
    Membership.objects.filter(user=bob).delete()
    assert Api(created.secret).get("/me").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(workspace, alice, django_assert_num_queries):
    created = make_token(workspace, alice)
    assert ApiToken.objects.get().last_used_at is None
    api = Api(created.secret)
    api.get("/me")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    api.get("/me")
    assert ApiToken.objects.get().last_used_at == first
    caller = token_caller(created.secret)
    with django_assert_num_queries(0):
        token_touch(caller.token, now=first + timedelta(seconds=30))
    with django_assert_num_queries(1):
        token_touch(caller.token, now=first + timedelta(seconds=61))
    assert ApiToken.objects.get().last_used_at == first + timedelta(seconds=61)


def test_a_read_token_cannot_write(alice_reader, conversation):
    conversation.status = "open"
    conversation.save(update_fields=["status"])
    response = alice_reader.post(f"/conversations/{conversation.pk}/status", {"status": "closed"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert alice_reader.get(f"/conversations/{conversation.pk}").status_code == 200


def test_the_session_cookie_does_not_authenticate(alice_client, conversation):
    conversation.status = "open"
    conversation.save(update_fields=["status"])
    # An agent's browser, driven by another site's page: no token, no API.
    for response in (
        alice_client.get("/api/v1/conversations"),
        alice_client.post(
            f"/api/v1/conversations/{conversation.pk}/status",
            '{"status": "closed"}',
            content_type="application/json",
        ),
    ):
        assert response.status_code == 401
    conversation.refresh_from_db()
    assert conversation.status == "open"


def test_a_token_request_needs_no_csrf_token(workspace, alice, conversation):
    from django.test import Client

    api = Api(make_token(workspace, alice).secret, Client(enforce_csrf_checks=True))
    response = api.post(f"/conversations/{conversation.pk}/status", {"status": "pending"})
    assert response.status_code == 200


def test_the_command_prints_the_token_last(workspace, alice):
    out = StringIO()
    call_command("api_token_create", workspace.slug, "--name", "Ops", "--scope", "read", stdout=out)
    lines = out.getvalue().strip().splitlines()
    secret = lines[-1]
    assert secret.startswith("trp_")
    assert secret not in "\n".join(lines[:-1])
    token = ApiToken.objects.get()
    assert (token.scope, token.role, token.created_by_id) == (TokenScope.READ, "admin", alice.pk)
    assert Api(secret).get("/me").json()["acting_as"]["email"] == alice.email


def test_the_command_refuses_unknown_workspaces_and_scopes(workspace):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("api_token_create", "nope", "--name", "x", "--scope", "read")
    with pytest.raises(CommandError):
        call_command("api_token_create", workspace.slug, "--name", "x", "--scope", "admin")
    assert not ApiToken.objects.exists()


def test_the_tokens_page_speaks_french(alice_client, workspace, alice):
    make_token(workspace, alice)
    page = alice_client.get(reverse("api_tokens")).content.decode()
    for french in ("Jetons d’API", "Créer un jeton", "Lecture et écriture", "Révoquer", "Jamais"):
        assert french in page, french
    response = alice_client.post(
        reverse("api_tokens"), {"name": "", "role": "owner", "scope": "x", "lifetime": "7"}
    )
    assert response.status_code == 200 and ApiToken.objects.count() == 1
