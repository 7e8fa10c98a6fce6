"""The connect flows through Django's test client (the browser runs them in
tests/browser/test_oauth_connect.py): state and PKCE, the address, sealed tokens,
reconnecting, disconnecting, the buttons, the operator command."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import CommandError, call_command
from django.urls import reverse

from inbox.mail.mailboxes import mailbox_credentials
from inbox.models import Mailbox, Provider, SyncState
from tests.providers.conftest import GMAIL_ADDRESS, MS_ADDRESS

pytestmark = pytest.mark.django_db


def _through_provider(client, fake, start_url: str, *, tamper_state: bool = False):
    """Start the flow, follow the fake's consent page, come back to the callback."""
    response = client.post(start_url)
    assert response.status_code == 302
    authorize = response["Location"]
    assert authorize.startswith(fake.url)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    back = requests.get(authorize, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    params = parse_qs(callback.query)
    if tamper_state:
        params["state"] = ["forged-state"]
    return client.get(callback.path, {k: v[0] for k, v in params.items()})


@pytest.fixture
def site(settings):
    settings.SITE_URL = "http://testserver"


def test_google_connect_end_to_end(alice_client, workspace, google_fake, site):
    google_fake.consent_email = GMAIL_ADDRESS
    response = _through_provider(
        alice_client, google_fake, reverse("oauth_connect", args=["google"])
    )
    assert response.status_code == 302 and response["Location"] == reverse("mailboxes")
    mailbox = Mailbox.objects.get(workspace=workspace, address=GMAIL_ADDRESS)
    assert mailbox.provider == Provider.GOOGLE and mailbox.sync_state == SyncState.ACTIVE
    credentials = mailbox_credentials(mailbox)
    assert credentials["refresh_token"] in google_fake.refresh_tokens
    # Sealed: the token is nowhere in the row's bytes.
    assert credentials["refresh_token"].encode() not in bytes(mailbox.credentials_sealed)
    page = alice_client.get(reverse("mailboxes"))
    assert GMAIL_ADDRESS in page.content.decode()


def test_microsoft_connect_end_to_end(alice_client, workspace, microsoft_fake, site):
    microsoft_fake.consent_email = MS_ADDRESS
    response = _through_provider(
        alice_client, microsoft_fake, reverse("oauth_connect", args=["microsoft"])
    )
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(workspace=workspace, address=MS_ADDRESS)
    assert mailbox.provider == Provider.MICROSOFT
    assert mailbox_credentials(mailbox)["refresh_token"] in microsoft_fake.refresh_tokens


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_a_forged_state_connects_nothing(
    provider, alice_client, workspace, google_fake, microsoft_fake, site
):
    google_fake.consent_email = microsoft_fake.consent_email = "x@lycee-verne.fr"
    fake = google_fake if provider == "google" else microsoft_fake
    response = _through_provider(
        alice_client, fake, reverse("oauth_connect", args=[provider]), tamper_state=True
    )
    assert response.status_code == 302
    assert not Mailbox.objects.filter(workspace=workspace).exists()
    page = alice_client.get(reverse("mailboxes")).content.decode()
    assert "Start again" in page or "Recommencez" in page or "recommencez" in page


def test_a_callback_without_a_started_flow_is_refused(alice_client, workspace, google_fake):
    response = alice_client.get(
        reverse("oauth_callback", args=["google"]), {"code": "4/x", "state": "s"}
    )
    assert response.status_code == 302
    assert not Mailbox.objects.exists()


def test_denied_consent_connects_nothing(alice_client, workspace, google_fake, site):
    google_fake.deny = True
    _through_provider(alice_client, google_fake, reverse("oauth_connect", args=["google"]))
    assert not Mailbox.objects.exists()


def test_agents_cannot_connect(bob_client, google_fake):
    assert bob_client.post(reverse("oauth_connect", args=["google"])).status_code == 403


def test_buttons_hidden_when_client_ids_unset(alice_client, settings):
    settings.GOOGLE_CLIENT_ID = settings.MICROSOFT_CLIENT_ID = ""
    page = alice_client.get(reverse("mailbox_add")).content.decode()
    assert 'data-provider="google"' not in page and 'data-provider="microsoft"' not in page
    assert alice_client.post(reverse("oauth_connect", args=["google"])).status_code == 404


def test_buttons_shown_when_configured(alice_client, google_fake, microsoft_fake):
    page = alice_client.get(reverse("mailbox_add")).content.decode()
    assert 'data-provider="google"' in page and 'data-provider="microsoft"' in page


def test_reconnect_must_be_the_same_account(alice_client, gmail_box, google_fake, site):
    gmail_box.sync_state = SyncState.RECONNECT
    gmail_box.save()
    google_fake.consent_email = "someone-else@lycee-verne.fr"
    _through_provider(alice_client, google_fake, reverse("oauth_reconnect", args=[gmail_box.pk]))
    gmail_box.refresh_from_db()
    assert gmail_box.sync_state == SyncState.RECONNECT
    assert not Mailbox.objects.filter(address="someone-else@lycee-verne.fr").exists()

    google_fake.consent_email = GMAIL_ADDRESS
    _through_provider(alice_client, google_fake, reverse("oauth_reconnect", args=[gmail_box.pk]))
    gmail_box.refresh_from_db()
    assert gmail_box.sync_state == SyncState.ACTIVE


def test_disconnect_revokes_google_grant(alice_client, gmail_box, google_fake):
    token = mailbox_credentials(gmail_box)["refresh_token"]
    response = alice_client.post(reverse("oauth_disconnect", args=[gmail_box.pk]), follow=True)
    assert google_fake.revoked == [token]
    assert token not in google_fake.refresh_tokens
    gmail_box.refresh_from_db()
    assert gmail_box.credentials_sealed is None
    assert gmail_box.sync_state == SyncState.RECONNECT
    assert response.status_code == 200


def test_disconnect_microsoft_forgets_tokens_and_says_so(alice_client, graph_box, microsoft_fake):
    response = alice_client.post(reverse("oauth_disconnect", args=[graph_box.pk]), follow=True)
    graph_box.refresh_from_db()
    assert graph_box.credentials_sealed is None
    assert re.search(r"Microsoft", response.content.decode())


def test_charlie_cannot_reconnect_or_disconnect_alices_mailbox(charlie_client, gmail_box):
    for name in ("oauth_reconnect", "oauth_disconnect"):
        assert charlie_client.post(reverse(name, args=[gmail_box.pk])).status_code == 404
    gmail_box.refresh_from_db()
    assert gmail_box.credentials_sealed is not None


def test_operator_command_connects_from_a_refresh_token(workspace, google_fake, monkeypatch):
    monkeypatch.setenv("GMAIL_TOKEN", google_fake.grant(GMAIL_ADDRESS))
    call_command(
        "mailbox_add_oauth",
        "--workspace", workspace.slug,
        "--provider", "google",
        "--address", GMAIL_ADDRESS,
        "--refresh-token-env", "GMAIL_TOKEN",
    )  # fmt: skip
    mailbox = Mailbox.objects.get(address=GMAIL_ADDRESS)
    assert mailbox.provider == Provider.GOOGLE
    assert mailbox_credentials(mailbox)["access_token"]


def test_operator_command_refuses_another_accounts_token(workspace, microsoft_fake, monkeypatch):
    monkeypatch.setenv("MS_TOKEN", microsoft_fake.grant("other@lycee-verne.fr"))
    with pytest.raises(CommandError, match="belongs to other@"):
        call_command(
            "mailbox_add_oauth",
            "--workspace", workspace.slug,
            "--provider", "microsoft",
            "--address", MS_ADDRESS,
            "--refresh-token-env", "MS_TOKEN",
        )  # fmt: skip
    assert not Mailbox.objects.exists()


def test_operator_command_refuses_a_revoked_token(workspace, google_fake, monkeypatch):
    monkeypatch.setenv("GMAIL_TOKEN", "1//not-a-token")
    with pytest.raises(CommandError, match="Nothing was saved"):
        call_command(
            "mailbox_add_oauth",
            "--workspace", workspace.slug,
            "--provider", "google",
            "--address", GMAIL_ADDRESS,
            "--refresh-token-env", "GMAIL_TOKEN",
        )  # fmt: skip
    assert not Mailbox.objects.exists()


def test_fewer_permissions_than_needed_connects_nothing(alice_client, google_fake, site):
    google_fake.consent_email = GMAIL_ADDRESS
    google_fake.granted_scope = "https://www.googleapis.com/auth/gmail.readonly"
    _through_provider(alice_client, google_fake, reverse("oauth_connect", args=["google"]))
    assert not Mailbox.objects.exists()
    page = alice_client.get(reverse("mailboxes")).content.decode()
    assert "toast-error" in page
    assert "Google granted fewer permissions" in page or "moins d’autorisations" in page


def test_reconnection_needed_is_shown_with_its_way_out(alice_client, gmail_box, google_fake):
    from inbox.mail.providers.oauth import mailbox_mark_reconnect

    assert mailbox_mark_reconnect(mailbox=gmail_box)
    assert not mailbox_mark_reconnect(mailbox=gmail_box)  # once
    listing = alice_client.get(reverse("mailboxes")).content.decode()
    assert reverse("mailbox_edit", args=[gmail_box.pk]) in listing
    assert "Google" in listing and 'role="alert"' in listing
    page = alice_client.get(reverse("mailbox_edit", args=[gmail_box.pk])).content.decode()
    assert reverse("oauth_reconnect", args=[gmail_box.pk]) in page
    assert reverse("oauth_disconnect", args=[gmail_box.pk]) in page
