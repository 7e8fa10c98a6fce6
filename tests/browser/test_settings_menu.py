"""The header's "Réglages" menu, in Chromium: the main nav keeps Boîte de réception, Contacts
and (admins) Rapports; the settings pages are in the menu, which opens and closes from the
keyboard and marks the current page; an agent sees only the pages an agent uses."""

import pytest

from tests.browser.session import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_settings_menu_by_keyboard(new_page, alice, bob):
    page = new_page()
    log_in(page, alice.email)
    nav = page.get_by_role("navigation", name="Principal")
    assert nav.get_by_role("link", name="Contacts").is_visible()
    assert nav.get_by_role("link", name="Rapports").is_visible()
    assert nav.get_by_role("link", name="Équipe").count() == 0  # now under Réglages

    summary = page.locator(".settings-menu summary")
    assert summary.inner_text().startswith("Réglages")
    summary.focus()
    page.keyboard.press("Enter")
    menu = page.locator(".settings-menu").get_by_role("menu")
    assert menu.is_visible()
    for name in ("Boîtes mail", "Équipe", "Heures ouvrées", "Portail des demandeurs", "API"):
        assert menu.get_by_role("menuitem", name=name).is_visible(), name
    page.keyboard.press("Escape")
    assert not menu.is_visible()
    assert page.evaluate("document.activeElement.closest('.settings-menu') !== null")

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the first item
    page.keyboard.press("Tab")  # Équipe
    page.keyboard.press("Enter")
    page.wait_for_url("**/team/**")
    assert "current" in (summary.get_attribute("class") or "")
    page.locator(".settings-menu summary").click()
    assert menu.get_by_role("menuitem", name="Équipe").get_attribute("aria-current") == "page"
    page.locator("main").click(position={"x": 5, "y": 5})  # a click elsewhere closes it
    assert not menu.is_visible()

    agent = new_page()
    log_in(agent, bob.email)
    assert (
        agent.get_by_role("navigation", name="Principal")
        .get_by_role("link", name="Rapports")
        .count()
        == 0
    )
    agent.locator(".settings-menu summary").click()
    agent_menu = agent.locator(".settings-menu").get_by_role("menu")
    assert agent_menu.get_by_role("menuitem", name="Équipe").is_visible()
    assert agent_menu.get_by_role("menuitem", name="Webhooks").count() == 0
