"""Processor terms accepted at workspace creation; the sign-in log and its retention."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Workspace
from accounts.services import invitation_token
from privacy.gdpr.retention import security_log_purge
from privacy.models import SecurityEvent, SecurityEventKind, TermsAcceptance
from tests.factories import PASSWORD, UserFactory


def test_creating_a_workspace_requires_and_records_the_terms(client, db, settings):
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    user = UserFactory()
    client.force_login(user)
    refused = client.post(reverse("workspace_create"), {"name": "École Pasteur", "slug": ""})
    assert refused.status_code == 200
    assert not Workspace.objects.exists() and not TermsAcceptance.objects.exists()

    client.post(
        reverse("workspace_create"), {"name": "École Pasteur", "slug": "", "accept_terms": "on"}
    )
    workspace = Workspace.objects.get()
    acceptance = TermsAcceptance.objects.get()
    assert (acceptance.workspace, acceptance.user, acceptance.user_email) == (
        workspace,
        user,
        user.email,
    )
    assert acceptance.version == "2026-04-25"
    assert timezone.now() - acceptance.accepted_at < timedelta(minutes=1)


def test_the_invited_owner_accepts_the_terms_when_joining(client, db, settings):
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    call_command("workspace_create", "Agence Horizon", "--owner", "lea@horizon.fr")
    workspace = Workspace.objects.get(name="Agence Horizon")
    invitation = workspace.invitations.get()
    lea = UserFactory(email="lea@horizon.fr")
    client.force_login(lea)
    url = reverse("invitation_accept", args=[invitation_token(invitation)])
    assert "accept_terms" in client.get(url).content.decode()
    client.post(url)  # without the box: refused, nothing joined
    assert not workspace.memberships.filter(user=lea).exists()
    assert not TermsAcceptance.objects.filter(user=lea).exists()
    client.post(url, {"accept_terms": "on"}, REMOTE_ADDR="198.51.100.4")
    assert workspace.memberships.get(user=lea).role == "owner"
    # The operator's record from the command, then Léa's own.
    operator, own = TermsAcceptance.objects.order_by("pk")
    assert (operator.accepted_by, operator.user, operator.user_email) == (
        "operator",
        None,
        "lea@horizon.fr",
    )
    assert (own.workspace, own.user, own.version, own.accepted_by, own.ip) == (
        workspace,
        lea,
        "2026-04-25",
        "owner",
        "198.51.100.4",
    )


def test_logins_are_logged_with_ip_and_browser(client, db):
    user = UserFactory(email="nina@example.fr")
    client.post(
        reverse("account_login"),
        {"login": "nina@example.fr", "password": "wrong-password"},
        HTTP_USER_AGENT="Firefox/140",
        REMOTE_ADDR="203.0.113.7",
    )
    client.post(
        reverse("account_login"),
        {"login": "nina@example.fr", "password": PASSWORD},
        HTTP_USER_AGENT="Firefox/140",
        REMOTE_ADDR="203.0.113.7",
    )
    failed = SecurityEvent.objects.get(kind=SecurityEventKind.LOGIN_FAILED)
    assert failed.user is None and failed.ip == "203.0.113.7"
    login = SecurityEvent.objects.get(kind=SecurityEventKind.LOGIN)
    assert (login.user, login.ip, login.user_agent) == (user, "203.0.113.7", "Firefox/140")


@pytest.mark.parametrize("days", [30, 365])
def test_the_security_log_is_purged_after_the_configured_period(db, settings, days):
    settings.TRUPEO_SECURITY_LOG_DAYS = days
    old = SecurityEvent.objects.create(kind="login", at=timezone.now() - timedelta(days=days + 1))
    recent = SecurityEvent.objects.create(
        kind="login", at=timezone.now() - timedelta(days=days - 1)
    )
    assert security_log_purge() == 1
    assert list(SecurityEvent.objects.all()) == [recent]
    assert not SecurityEvent.objects.filter(pk=old.pk).exists()
