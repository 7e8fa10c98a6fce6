"""Workspaces, memberships, invitations: the services and the views that call them."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, Role, Workspace
from tests.factories import UserFactory


def _invite_link(message) -> str:
    return re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)


def test_home_sends_a_visitor_to_the_public_site(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/fr/"


def test_a_user_without_workspace_is_asked_to_create_one(client, db):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/").url == reverse("workspace_create")
    assert client.get(reverse("inbox")).url == reverse("workspace_create")


def test_create_workspace_makes_the_user_owner_with_a_key(client, db):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("workspace_create"),
        {"name": "École Saint-Exupéry", "slug": "", "accept_terms": "on"},
    )
    assert response.status_code == 302
    workspace = Workspace.objects.get()
    assert workspace.slug == "ecole-saint-exupery"
    assert workspace.wrapped_key  # its own key, wrapped
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.OWNER


def test_slug_taken_is_an_error_in_words(alice_client, workspace):
    response = alice_client.post(
        reverse("workspace_create"),
        {"name": "Autre", "slug": workspace.slug, "accept_terms": "on"},
    )
    assert response.status_code == 200
    assert "déjà" in response.content.decode()  # French by default
    assert Workspace.objects.count() == 1


def test_invitation_round_trip_for_a_new_user(
    alice_client, workspace, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            reverse("member_invite"), {"email": "Nina@Example.fr", "role": "agent"}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nina@example.fr"]
    link = _invite_link(mail.outbox[0])
    path = link.split("://", 1)[1].split("/", 1)[1]

    page = client.get("/" + path)
    assert page.status_code == 200
    assert "Lycée Jules Verne" in page.content.decode()
    # Signing up from the link confirms the address by email (holding the link proves
    # nothing), then comes back to the invitation.
    signup = client.post(
        reverse("account_signup") + "?email=nina@example.fr",
        {
            "email": "nina@example.fr",
            "name": "Nina Roux",
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
    )
    assert signup.status_code == 302
    assert signup.url == reverse("account_email_verification_sent")
    confirm = re.search(r"https?://\S+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)[1]
    assert mail.outbox[-1].to == ["nina@example.fr"]
    assert client.post(confirm).url == "/" + path
    accept = client.post("/" + path)
    assert accept.status_code == 302
    membership = Membership.objects.get(workspace=workspace, user__email="nina@example.fr")
    assert membership.role == Role.AGENT
    assert client.get(reverse("members")).status_code == 200


def test_invitation_for_an_existing_user(workspace, alice, charlie, charlie_client):
    invitation = services.invitation_create(
        workspace=workspace, email=charlie.email, role=Role.ADMIN, invited_by=alice
    )
    url = reverse("invitation_accept", args=[services.invitation_token(invitation)])
    assert charlie_client.post(url).status_code == 302
    assert Membership.objects.get(workspace=workspace, user=charlie).role == Role.ADMIN
    # charlie now has two workspaces and can switch between them.
    response = charlie_client.post(reverse("workspace_switch", args=[workspace.pk]))
    assert response.status_code == 302
    assert charlie_client.get(reverse("members")).context["workspace"] == workspace


def test_invitation_expires_after_seven_days(workspace, alice, client):
    invitation = services.invitation_create(
        workspace=workspace, email="late@example.fr", role=Role.AGENT, invited_by=alice
    )
    token = services.invitation_token(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    response = client.get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 404
    assert services.invitation_from_token(token) is None


def test_forged_or_used_invitation_links_do_not_work(workspace, alice, bob, client):
    assert client.get(reverse("invitation_accept", args=["forged:token"])).status_code == 404
    invitation = services.invitation_create(
        workspace=workspace, email="once@example.fr", role=Role.AGENT, invited_by=alice
    )
    services.invitation_accept(invitation=invitation, user=UserFactory(email="once@example.fr"))
    token = services.invitation_token(invitation)
    assert client.get(reverse("invitation_accept", args=[token])).status_code == 404


def test_agents_cannot_invite_or_remove(bob_client, workspace, alice):
    response = bob_client.post(reverse("member_invite"), {"email": "x@example.fr", "role": "agent"})
    assert response.status_code == 403
    owner = Membership.objects.get(user=alice)
    assert bob_client.post(reverse("member_remove", args=[owner.pk])).status_code == 403
    assert Invitation.objects.count() == 0


def test_remove_member_and_owner_is_protected(alice_client, workspace, alice, bob):
    bob_membership = Membership.objects.get(user=bob)
    alice_membership = Membership.objects.get(user=alice)
    alice_client.post(reverse("member_remove", args=[alice_membership.pk]))
    assert Membership.objects.filter(pk=alice_membership.pk).exists()
    alice_client.post(reverse("member_remove", args=[bob_membership.pk]))
    assert not Membership.objects.filter(pk=bob_membership.pk).exists()


def test_transfer_ownership(alice_client, workspace, alice, bob):
    bob_membership = Membership.objects.get(user=bob)
    alice_client.post(reverse("ownership_transfer", args=[bob_membership.pk]))
    assert Membership.objects.get(user=bob).role == Role.OWNER
    assert Membership.objects.get(user=alice).role == Role.ADMIN


def test_only_the_owner_transfers(bob_client, workspace, alice):
    alice_membership = Membership.objects.get(user=alice)
    assert (
        bob_client.post(reverse("ownership_transfer", args=[alice_membership.pk])).status_code
        == 403
    )


def test_role_change(alice_client, bob):
    membership = Membership.objects.get(user=bob)
    alice_client.post(reverse("member_role", args=[membership.pk]), {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_cannot_invite_an_existing_member(workspace, alice, bob):
    with pytest.raises(Exception, match=r"membre|member"):
        services.invitation_create(
            workspace=workspace, email=bob.email, role=Role.AGENT, invited_by=alice
        )


def test_language_is_french_by_default_and_stored_on_the_user(alice_client, alice):
    page = alice_client.get(reverse("members"))
    assert page["Content-Language"] == "fr"
    assert "Équipe" in page.content.decode()
    alice_client.post(reverse("language_set"), {"language": "en", "next": "/team/"})
    alice.refresh_from_db()
    assert alice.language == "en"
    page = alice_client.get(reverse("members"))
    assert page["Content-Language"] == "en"
    assert "Team" in page.content.decode()
