"""The data-processing terms: a versioned text anyone can read; every path that creates a
workspace records the client's acceptance (the operator's command says it acted on the
client's behalf); the record outlives the workspace; owners are asked again when the version
changes, and only owners."""

import io

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Workspace
from accounts.services import invitation_token
from privacy.gdpr import deletion
from privacy.gdpr.processor_terms import terms_accept
from privacy.models import TermsAcceptance
from tests.factories import UserFactory

FR, EN = "/fr/conditions-de-sous-traitance/", "/en/data-processing-terms/"
BANNER = 'class="terms-banner"'


def test_the_terms_are_public_versioned_and_in_both_languages(client, db, settings):
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    fr = client.get(FR)
    assert fr.status_code == 200
    page = fr.content.decode()
    assert "Version du 2026-04-25" in page and "article 28 du RGPD" in page
    assert 'href="#sous-traitants-ulterieurs"' in page  # numbered sections, stable anchors
    en = client.get(EN).content.decode()
    assert "Version of 2026-04-25" in en and "Sub-processors" in en
    assert client.get(FR, {"version": "2026-04-25"}).status_code == 200
    # Every public page links to them.
    assert FR in client.get("/fr/politique-de-confidentialite/").content.decode()


@pytest.mark.parametrize(
    "version", ["2020-01-01", "../../../etc/passwd", "2026-04-25.fr", "%00", "x" * 5000]
)
def test_an_unknown_or_hostile_version_is_a_404(client, version):
    assert client.get(FR, {"version": version}).status_code == 404


def test_the_server_refuses_to_start_on_a_version_without_text(settings):
    settings.TRUPEO_DPA_VERSION = "2031-01-01"
    errors = [e for e in run_checks() if e.id == "privacy.E001"]
    assert errors and "privacy/dpa/2031-01-01.fr.md" in errors[0].msg
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    assert not [e for e in run_checks() if e.id == "privacy.E001"]


def test_signup_invitation_and_settings_link_the_text(client, alice_client, db):
    user = UserFactory()
    client.force_login(user)
    create = client.get(reverse("workspace_create")).content.decode()
    assert FR in create and "2026-04-25" in create
    assert FR in alice_client.get(reverse("processor_terms")).content.decode()
    assert reverse("processor_terms") in alice_client.get(reverse("privacy_data")).content.decode()


def _command(*args) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_the_operator_command_records_acceptance_on_the_clients_behalf(
    db, monkeypatch, client, settings
):
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    monkeypatch.setenv("TRUPEO_OWNER_PASSWORD", "un-mot-de-passe-solide")
    lines = _command("workspace_create", "Agence Horizon", "--owner", "Lea@Horizon.fr")
    workspace = Workspace.objects.get()
    assert lines[-1] == workspace.slug  # the last line stays the slug
    assert any("on behalf of lea@horizon.fr" in line for line in lines)

    record = TermsAcceptance.objects.get()
    lea = Membership.objects.get(workspace=workspace).user
    assert (record.workspace, record.user, record.user_email, record.version) == (
        workspace,
        lea,
        "lea@horizon.fr",
        "2026-04-25",
    )
    assert record.accepted_by == "operator"
    assert record.recorded_by.startswith("manage.py workspace_create, run by ")
    assert (record.workspace_name, record.workspace_slug) == ("Agence Horizon", "agence-horizon")

    # The operator's word is not the owner's: Léa is asked in person on her first login.
    client.force_login(lea)
    assert BANNER in client.get(reverse("members")).content.decode()
    client.post(reverse("processor_terms"), {"accept_terms": "on", "version": "2026-04-25"})
    assert TermsAcceptance.objects.filter(user=lea, accepted_by="owner").count() == 1
    assert BANNER not in client.get(reverse("members")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_invitation_path_records_the_operator_then_the_owner(monkeypatch, client):
    monkeypatch.delenv("TRUPEO_OWNER_PASSWORD", raising=False)
    lines = _command("workspace_create", "Agence Horizon", "--owner", "lea@horizon.fr")
    assert lines[-1] == "agence-horizon"
    record = TermsAcceptance.objects.get()
    assert (record.accepted_by, record.user, record.user_email) == (
        "operator",
        None,
        "lea@horizon.fr",
    )
    workspace = Workspace.objects.get()
    lea = UserFactory(email="lea@horizon.fr")
    client.force_login(lea)
    url = reverse("invitation_accept", args=[invitation_token(workspace.invitations.get())])
    client.post(url, {"accept_terms": "on"})
    assert TermsAcceptance.objects.filter(user=lea, accepted_by="owner").exists()
    assert BANNER not in client.get(reverse("members")).content.decode()


def test_the_contract_outlives_the_workspace_and_the_account(alice_client, alice, settings):
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    alice_client.post(
        reverse("workspace_create"),
        {"name": "Collège Curie", "slug": "", "accept_terms": "on"},
        REMOTE_ADDR="203.0.113.20",
    )
    workspace = Workspace.objects.get(name="Collège Curie")
    workspace_id = workspace.pk
    assert TermsAcceptance.objects.get(workspace=workspace).ip == "203.0.113.20"

    deletion.workspace_delete(workspace=workspace, actor=alice)
    for other in Workspace.objects.filter(memberships__user=alice):
        deletion.workspace_delete(workspace=other, actor=alice)
    deletion.account_delete(user=alice)

    contract = TermsAcceptance.objects.get(workspace_ref=workspace_id)
    assert (contract.workspace, contract.user) == (None, None)
    assert (contract.workspace_name, contract.workspace_slug) == ("Collège Curie", "college-curie")
    assert (contract.user_email, contract.user_name) == ("alice@lycee-verne.fr", "Alice Martin")
    assert (contract.version, contract.accepted_by, contract.ip) == (
        "2026-04-25",
        "owner",
        "203.0.113.20",
    )


@pytest.fixture
def accepted(workspace, alice):
    """Alice accepted the founding version for her workspace."""
    return terms_accept(workspace=workspace, user=alice, version="2026-04-25")


def test_owners_are_asked_again_when_the_version_changes_and_only_owners(
    accepted, alice_client, bob_client, settings, monkeypatch, tmp_path
):
    page = reverse("members")
    assert BANNER not in alice_client.get(page).content.decode()

    # A new version: its text exists, the setting names it.
    from privacy.site import terms_text

    for language in ("fr", "en"):
        (tmp_path / f"2026-12-01.{language}.md").write_text("Version du 2026-12-01\n")
        (tmp_path / f"2026-04-25.{language}.md").write_text("Version du 2026-04-25\n")
    monkeypatch.setattr(terms_text, "TERMS_DIR", tmp_path)
    settings.TRUPEO_DPA_VERSION = "2026-12-01"

    owner_page = alice_client.get(page).content.decode()
    assert BANNER in owner_page and "2026-12-01" in owner_page
    assert BANNER in alice_client.get(reverse("inbox")).content.decode()  # on every page
    assert BANNER not in bob_client.get(page).content.decode()  # agents are not asked
    bob_view = bob_client.get(reverse("processor_terms")).content.decode()
    assert 'name="accept_terms"' not in bob_view
    # Daily work is not blocked meanwhile.
    assert alice_client.get(reverse("inbox")).status_code == 200


def test_only_the_owner_may_accept_with_csrf_and_the_version_read(
    accepted, alice, bob_client, workspace, settings, monkeypatch, tmp_path
):
    from privacy.site import terms_text

    (tmp_path / "2026-12-01.fr.md").write_text("Version du 2026-12-01\n")
    monkeypatch.setattr(terms_text, "TERMS_DIR", tmp_path)
    settings.TRUPEO_DPA_VERSION = "2026-12-01"
    url = reverse("processor_terms")
    form = {"accept_terms": "on", "version": "2026-12-01"}

    # An agent cannot accept on the client's behalf.
    assert bob_client.post(url, form).status_code == 403
    # A forged cross-site post (no CSRF token) is refused.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(url, form).status_code == 403
    # The owner posting for a version other than the one in force records nothing.
    alice_client = Client()
    alice_client.force_login(alice)
    alice_client.post(url, {"accept_terms": "on", "version": "2026-04-25"})
    alice_client.post(url, {"version": "2026-12-01"})  # box not ticked
    assert not TermsAcceptance.objects.filter(version="2026-12-01").exists()

    alice_client.post(url, form, REMOTE_ADDR="192.0.2.44")
    alice_client.post(url, form)  # a double click records it once
    record = TermsAcceptance.objects.get(version="2026-12-01")
    assert (record.workspace, record.user, record.accepted_by, record.ip) == (
        workspace,
        alice,
        "owner",
        "192.0.2.44",
    )
    history = alice_client.get(url).content.decode()
    assert "2026-04-25" in history and "2026-12-01" in history


def test_charlie_cannot_accept_for_alices_workspace(accepted, charlie_client, workspace, settings):
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    charlie_client.post(reverse("workspace_switch", args=[workspace.pk]))  # not a member: no switch
    charlie_client.post(reverse("processor_terms"), {"accept_terms": "on", "version": "2026-04-25"})
    assert TermsAcceptance.objects.filter(workspace=workspace).count() == 1  # Alice's only
    assert not TermsAcceptance.objects.filter(
        workspace=workspace, user__email__startswith="charlie"
    )
