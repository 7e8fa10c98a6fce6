"""Connecting Gmail and Microsoft 365 in a real Chromium, end to end against the local fakes:
the button, the provider's consent page (which approves at once), the callback with code and
state, the mailbox listed with its address — then its mail synced and shown."""

import pytest
from django.utils.csp import CSP

from inbox.mail.sync import mailbox_sync
from inbox.models import Mailbox, Provider
from tests.browser.conftest import CspWatch
from tests.browser.session import log_in
from tests.mail import french_message
from tests.parts.google_fake import google_fake  # noqa: F401
from tests.parts.microsoft_fake import microsoft_fake  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def oauth_page(browser, live_server, settings, google_fake, microsoft_fake):  # noqa: F811
    """A page whose browser trusts the fakes' throw-away certificate, with the settings a
    deployment pointing at these endpoints would have (SITE_URL, CSP form-action)."""
    settings.SITE_URL = live_server.url
    # As trupeo/settings.py builds it when the client ids are set.
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [CSP.SELF, settings.GOOGLE_AUTH_URL, settings.MICROSOFT_LOGIN_BASE_URL],
    }
    watch = CspWatch()
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", ignore_https_errors=True
    )
    context.set_default_timeout(15_000)
    yield watch.attach(context.new_page())
    context.close()
    assert not watch.violations, f"CSP violations: {watch.violations}"


@pytest.mark.parametrize(
    ("provider", "address"),
    [
        (Provider.GOOGLE, "scolarite@lycee-verne.fr"),
        (Provider.MICROSOFT, "contact@lycee-verne.fr"),
    ],
)
def test_connect_in_two_clicks(
    oauth_page,
    alice,
    workspace,
    google_fake,  # noqa: F811
    microsoft_fake,  # noqa: F811
    provider,
    address,
):
    fake = google_fake if provider == Provider.GOOGLE else microsoft_fake
    fake.consent_email = address
    page = oauth_page
    log_in(page, alice.email)
    page.goto("/mailboxes/")
    page.locator(f'button[data-provider="{provider}"]').click()
    # The fake's consent page approves and sends the browser back to the callback.
    page.wait_for_url("**/mailboxes/")
    assert page.get_by_role("heading", name=address).is_visible()
    mailbox = Mailbox.objects.get(workspace=workspace, address=address)
    assert mailbox.provider == provider

    if provider == Provider.GOOGLE:
        google_fake.add_message(address, french_message(7, subject="Réinscription de Léa"))
    else:
        microsoft_fake.add_message(address, french_message(7, subject="Réinscription de Léa"))
    assert mailbox_sync(mailbox_id=mailbox.pk).new == 1
    page.goto("/inbox/")
    assert page.get_by_text("Réinscription de Léa").first.is_visible()


def test_refused_consent_says_so(oauth_page, alice, workspace, google_fake):  # noqa: F811
    google_fake.deny = True
    page = oauth_page
    log_in(page, alice.email)
    page.goto("/mailboxes/add/")
    page.locator('button[data-provider="google"]').click()
    page.wait_for_url("**/mailboxes/")
    toast = page.locator(".toast-error")
    assert toast.is_visible()
    assert "access was not granted" in toast.inner_text() or "accès" in toast.inner_text()
    assert not Mailbox.objects.exists()
