"""A real Chromium (Debian's), driven by Playwright, against pytest-django's live server."""

import os
import shutil

import pytest

from tests.parts import require_part

CHROMIUM = "/usr/bin/chromium"
# Playwright's sync API runs an event loop in the test thread; the ORM calls the test makes
# between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        require_part("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class CspWatch:
    """Collects Content-Security-Policy violations reported on the console."""

    def __init__(self):
        self.violations: list[str] = []

    def attach(self, page):
        page.on(
            "console",
            lambda msg: (
                self.violations.append(msg.text)
                if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
                else None
            ),
        )
        return page


@pytest.fixture
def new_page(browser, live_server):
    """`new_page()` opens a page in a fresh context (its own cookies): one per person."""
    contexts = []
    watch = CspWatch()

    def open_page():
        context = browser.new_context(base_url=live_server.url, locale="fr-FR")
        context.set_default_timeout(10_000)
        contexts.append(context)
        return watch.attach(context.new_page())

    yield open_page
    for context in contexts:
        context.close()
    assert not watch.violations, f"CSP violations: {watch.violations}"
