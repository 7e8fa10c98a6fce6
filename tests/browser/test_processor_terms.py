"""In Chromium: the owner of a workspace whose terms were never accepted in person sees the
banner on every page, reads the public text, accepts, and the banner is gone; the agent is
never asked — with no CSP violation on the way."""

import pytest

from privacy.models import TermsAcceptance
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Courriel").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/inbox/")


def test_the_owner_is_asked_reads_and_accepts(new_page, alice, bob, workspace, settings):
    settings.TRUPEO_DPA_VERSION = "2026-04-25"
    agent = new_page()
    _login(agent, bob.email)
    assert agent.locator(".terms-banner").count() == 0

    page = new_page()
    _login(page, alice.email)
    banner = page.locator(".terms-banner")
    assert "2026-04-25" in banner.inner_text()
    banner.get_by_role("link").click()
    page.wait_for_url("**/settings/processor-terms/")

    page.get_by_role("link", name="Lire les conditions de sous-traitance").click()
    page.wait_for_url("**/fr/conditions-de-sous-traitance/")
    assert "Version du 2026-04-25" in page.locator("article").inner_text()
    page.go_back()

    page.get_by_label("J’accepte les conditions de sous-traitance").check()
    page.get_by_role("button", name="Accepter ces conditions").click()
    page.wait_for_url("**/settings/processor-terms/")
    assert page.locator(".terms-banner").count() == 0
    record = TermsAcceptance.objects.get()
    assert (record.user, record.workspace, record.accepted_by) == (alice, workspace, "owner")
    assert record.ip == "127.0.0.1"
    page.goto("/inbox/")
    assert page.locator(".terms-banner").count() == 0
