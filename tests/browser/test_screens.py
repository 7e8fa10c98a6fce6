"""Every main screen at 1366 px and 390 px, in French and in English: no console error, no
Content-Security-Policy violation, and no WCAG 2.1 AA violation that axe-core finds.

axe-core comes from npm (package.json devDependencies); AXE_CORE_JS may point at another copy.
"""

import os
from pathlib import Path

import pytest
from django.utils import timezone

from inbox.actions.saved_replies import saved_reply_create
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation
from tests.browser.conftest import CspWatch
from tests.factories import PASSWORD
from tests.mail import french_message
from tests.parts import require_part

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SIZES = {"desktop": (1366, 800), "phone": (390, 844)}
PUBLIC = {
    "fr": [
        "/fr/",
        "/fr/contact/",
        "/fr/liste-d-attente/",
        "/fr/politique-de-confidentialite/",
        "/fr/mentions-legales/",
    ],
    "en": ["/en/", "/en/contact/", "/en/waitlist/", "/en/privacy-policy/", "/en/legal-notice/"],
}
ACCOUNT = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
APP = [
    "/inbox/",
    "/inbox/?view=closed",
    "/inbox/c/{conversation}/",
    "/inbox/new/",
    "/inbox/notifications/",
    "/inbox/tags/",
    "/reports/",
    "/mailboxes/",
    "/team/",
    "/saved-replies/",
    "/contacts/",
    "/profile/",
    "/settings/data/",
    "/billing/",
    "/inbox/c/999999/",  # the 404 page
]


def _axe_source() -> str:
    path = Path(os.environ.get("AXE_CORE_JS") or ROOT / "node_modules/axe-core/axe.min.js")
    if not path.is_file():
        require_part("axe-core", f"{path} is missing (npm ci installs it)")
    return path.read_text()


@pytest.fixture(scope="module")
def axe_source() -> str:
    return _axe_source()


def _problems(page, axe_source: str) -> list[str]:
    # Evaluated by the devtools protocol, so our CSP (rightly) does not block it.
    page.evaluate("() => {" + axe_source + "\n}")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{v['id']} ({v['help']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
    ]


def _visit_all(browser, live_server, axe_source, *, language, size, paths, log_in=None):
    width, height = SIZES[size]
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        locale="fr-FR" if language == "fr" else "en-GB",
    )
    context.add_cookies([{"name": "trupeo_language", "value": language, "url": live_server.url}])
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = CspWatch()
    watch.attach(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    found: dict[str, list[str]] = {}
    try:
        if log_in:
            log_in(page)
        for path in paths:
            errors.clear()
            response = page.goto(path)
            page.wait_for_load_state("networkidle")
            assert response is not None and response.status in (200, 404), (path, response)
            assert page.locator("html").get_attribute("lang") == language, path
            problems = _problems(page, axe_source)
            # A 404 in the page's own log is the answer it asked for, not an error.
            problems += [e for e in errors if not (path.endswith("999999/") and "404" in e)]
            if problems:
                found[f"{language} {size} {path}"] = problems
    finally:
        context.close()
    assert not watch.violations, f"CSP violations: {watch.violations}"
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_public_and_account_screens(browser, live_server, axe_source, language, size):
    _visit_all(
        browser,
        live_server,
        axe_source,
        language=language,
        size=size,
        paths=PUBLIC[language] + ACCOUNT,
    )


@pytest.fixture
def inbox(workspace, alice):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role="inbox")
    for n in (1, 2, 3):
        ingest_batch(
            mailbox=mailbox,
            folder=folder,
            mails=[
                RawMail(provider_key=f"k:1:{n}", raw=french_message(n), received_at=timezone.now())
            ],
        )
    saved_reply_create(
        workspace=workspace,
        mailbox=None,
        title="Absence bien notée",
        body="Bonjour {{ customer.name }},\n\nC'est noté.",
        created_by=alice,
    )
    return Conversation.objects.filter(workspace=workspace).order_by("pk").first()


def _log_in_as(user):
    def log_in(page):
        page.goto("/accounts/login/")
        page.locator("input[name=login]").fill(user.email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/inbox/")

    return log_in


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_app_screens(browser, live_server, axe_source, alice, inbox, language, size):
    alice.language = language
    alice.save(update_fields=["language"])
    _visit_all(
        browser,
        live_server,
        axe_source,
        language=language,
        size=size,
        paths=[p.format(conversation=inbox.pk) for p in APP],
        log_in=_log_in_as(alice),
    )


def test_e_and_a_on_the_lists_focused_row_and_the_counts_follow(new_page, alice, inbox):
    page = new_page()
    _log_in_as(alice)(page)
    side = page.locator("#inbox-side")
    side.locator(".count").first.wait_for()  # the counts load after the page
    page.keyboard.press("j")
    first = page.locator(".conv-row").first
    conversation_id = int(first.get_attribute("data-id"))
    page.keyboard.press("a")  # take it
    page.wait_for_function(
        "() => /Les miennes\\s*1/.test(document.querySelector('#inbox-side').innerText)"
    )
    assert Conversation.objects.get(pk=conversation_id).assignee_id == alice.pk
    page.keyboard.press("e")  # close it: it leaves the list, the focus stays in the list
    page.wait_for_function(
        f"() => !document.querySelector('.conv-row[data-id=\"{conversation_id}\"]')"
    )
    assert Conversation.objects.get(pk=conversation_id).status == "closed"
    page.wait_for_function(
        "() => /Toutes les ouvertes\\s*2/.test(document.querySelector('#inbox-side').innerText)"
    )
    page.wait_for_function("() => document.activeElement.classList.contains('conv-row')")
    assert "Conversation fermée." in page.locator(".toasts").inner_text()


def test_triage_buttons_change_state_without_a_csp_violation(new_page, alice, inbox):
    page = new_page()  # the fixture fails the test on any CSP violation
    _log_in_as(alice)(page)
    page.goto(f"/inbox/c/{inbox.pk}/")
    page.get_by_role("button", name="Mettre en attente").click()
    page.get_by_role("button", name="Rouvrir").wait_for()
    page.get_by_role("button", name="Suivre").click()
    page.get_by_role("button", name="Ne plus suivre").wait_for()
    page.wait_for_function(
        "() => /En attente\\s*1/.test(document.querySelector('#inbox-side').innerText)"
    )


def test_on_a_phone_the_nav_and_the_subjects_fit(browser, live_server, alice, inbox):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto("/fr/")
        for name in ("Confidentialité", "Contact", "Se connecter"):
            box = page.locator(".mainnav-public").get_by_role("link", name=name).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
        _log_in_as(alice)(page)
        subject = page.locator(".conv-subject").first.bounding_box()
        assert subject and subject["width"] > 250, subject  # not a dozen characters
    finally:
        context.close()
