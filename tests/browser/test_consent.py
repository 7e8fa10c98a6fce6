"""The consent banner in a real Chromium, in normal and strict mode.

Every request leaving for the internet is intercepted: Tag Manager, Google Analytics and
Clarity are answered by local stubs that behave like the real tags where it matters here
(Tag Manager sets `_ga` only once analytics storage is granted in Consent Mode; Clarity sets
`_clck` as soon as it runs), and anything else is refused. Nothing leaves the machine.
`new_page` fails the test on any CSP violation.
"""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.parts.turnstile_fake import turnstile  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GTM_ID = "GTM-TEST123"
CLARITY_ID = "clartest01"
BANNER = "#consent-banner"

# Like gtm.js for this purpose: reads the Consent Mode state from the dataLayer, and sets
# the GA4 cookie only while analytics_storage is granted.
GTM_STUB = """
(function () {
  var dl = window.dataLayer;
  window.__gtmLoadedWith = JSON.stringify(dl);
  function granted() {
    var state = "denied";
    for (var i = 0; i < dl.length; i++) {
      var e = dl[i];
      if (e && e[0] === "consent" && e[2] && e[2].analytics_storage) state = e[2].analytics_storage;
    }
    return state === "granted";
  }
  function check() {
    if (granted()) document.cookie = "_ga=GA1.1.1234.5678; path=/; max-age=33696000";
  }
  var push = dl.push;
  dl.push = function () { var r = push.apply(dl, arguments); check(); return r; };
  check();
})();
"""
# Like Clarity's loader: once it runs, it sets its cookie.
CLARITY_STUB = """
window.__clarityRan = true;
document.cookie = "_clck=abc123%7C2%7Cf; path=/; max-age=31536000";
"""


class Outside:
    """Every request to the internet, answered locally and recorded."""

    def __init__(self):
        self.urls: list[str] = []

    def handle(self, route):
        url = route.request.url
        self.urls.append(url)
        if url.startswith("https://www.googletagmanager.com/gtm.js"):
            route.fulfill(status=200, content_type="application/javascript", body=GTM_STUB)
        elif url.startswith(f"https://www.clarity.ms/tag/{CLARITY_ID}"):
            route.fulfill(status=200, content_type="application/javascript", body=CLARITY_STUB)
        elif re.match(r"https://[^/]*(google-analytics\.com|clarity\.ms|bing\.com)/", url):
            route.fulfill(status=204, body="")
        else:
            route.abort()

    def to(self, host: str) -> list[str]:
        return [url for url in self.urls if host in url.split("/")[2]]


@pytest.fixture
def tags(settings):
    settings.GTM_ID, settings.CLARITY_ID = GTM_ID, CLARITY_ID
    settings.TRUPEO_CONSENT_STRICT = False
    return settings


@pytest.fixture
def visitor(new_page):
    """A fresh visitor's page, with the internet replaced by local stubs."""
    outside = Outside()
    page = new_page()
    page.context.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), outside.handle)
    page.outside = outside
    return page


def _cookies(page) -> set[str]:
    return {cookie["name"] for cookie in page.context.cookies()}


def _stored(page) -> dict | None:
    return json.loads(page.evaluate("window.localStorage.getItem('trupeo.consent')") or "null")


def _settle(page):
    # Let async scripts run (a tag that would load, would have loaded by now).
    page.wait_for_load_state("networkidle")


def test_strict_mode_loads_nothing_before_acceptance(visitor, tags):
    tags.TRUPEO_CONSENT_STRICT = True
    page = visitor
    page.goto("/fr/")
    expect(page.locator(BANNER)).to_be_visible()
    _settle(page)
    assert page.outside.to("googletagmanager.com") == []
    assert page.outside.to("clarity.ms") == []
    assert not {"_ga", "_clck"} & _cookies(page)

    page.click(f"{BANNER} [data-consent-action=accept]")  # one click
    expect(page.locator(BANNER)).to_be_hidden()
    page.wait_for_function("() => window.__clarityRan === true && !!window.__gtmLoadedWith")
    assert page.outside.to("googletagmanager.com") and page.outside.to("clarity.ms")
    assert {"_ga", "_clck"} <= _cookies(page)

    # The choice survives a reload: no banner, the tags load at once.
    count = len(page.outside.to("googletagmanager.com"))
    page.reload()
    _settle(page)
    expect(page.locator(BANNER)).to_be_hidden()
    assert len(page.outside.to("googletagmanager.com")) == count + 1


def test_normal_mode_loads_tag_manager_with_everything_denied_and_no_clarity(visitor, tags):
    page = visitor
    page.goto("/fr/politique-de-confidentialite/")
    expect(page.locator(BANNER)).to_be_visible()
    page.wait_for_function("() => !!window.__gtmLoadedWith")
    assert page.outside.to("googletagmanager.com") == [
        f"https://www.googletagmanager.com/gtm.js?id={GTM_ID}"
    ]
    layer = json.loads(page.evaluate("window.__gtmLoadedWith"))
    # The first command, before Tag Manager ran: every Consent Mode signal denied.
    assert layer[0]["0"] == "consent" and layer[0]["1"] == "default"
    assert set(layer[0]["2"].values()) == {"denied"}
    assert {"ad_storage", "ad_user_data", "ad_personalization", "analytics_storage"} <= set(
        layer[0]["2"]
    )
    commands = [entry for entry in layer if "0" in entry]
    assert {"0": "set", "1": "ads_data_redaction", "2": True} in commands
    assert {"0": "set", "1": "url_passthrough", "2": False} in commands
    assert {"0": "set", "1": {"cookie_expires": 33696000}} in commands
    _settle(page)
    assert page.outside.to("clarity.ms") == []
    assert not {"_ga", "_clck"} & _cookies(page)


def test_silence_is_refusal(visitor, tags):
    page = visitor
    page.goto("/fr/")
    _settle(page)
    page.goto("/fr/contact/")  # browsing on without answering
    _settle(page)
    expect(page.locator(BANNER)).to_be_visible()
    assert page.outside.to("clarity.ms") == [] and _stored(page) is None
    assert not {"_ga", "_clck"} & _cookies(page)


def test_refusing_is_as_easy_as_accepting_and_sticks(visitor, tags):
    page = visitor
    page.goto("/fr/")
    accept = page.locator(f"{BANNER} [data-consent-action=accept]")
    refuse = page.locator(f"{BANNER} [data-consent-action=reject]")
    customise = page.locator(f"{BANNER} [data-consent-action=customize]")
    # The three choices side by side, the same size and the same style.
    boxes = [b.bounding_box() for b in (accept, refuse, customise)]
    assert len({(round(b["width"]), round(b["height"])) for b in boxes}) == 1
    assert len({b.get_attribute("class") for b in (accept, refuse, customise)}) == 1

    refuse.click()  # one click, as accepting
    expect(page.locator(BANNER)).to_be_hidden()
    stored = _stored(page)
    assert stored["categories"] == {"necessary": True, "analytics": False, "marketing": False}
    assert stored["version"] == "1" and stored["timestamp"]
    page.reload()
    _settle(page)
    expect(page.locator(BANNER)).to_be_hidden()
    assert page.outside.to("clarity.ms") == []
    assert not {"_ga", "_clck"} & _cookies(page)


def test_customising_keeps_marketing_off_unless_chosen(visitor, tags):
    page = visitor
    page.goto("/fr/")
    details = page.locator("#consent-details")
    expect(details).to_be_hidden()
    page.click(f"{BANNER} [data-consent-action=customize]")
    expect(details).to_be_visible()
    expect(page.locator("[data-consent-category=marketing]")).not_to_be_checked()
    expect(page.locator("[data-consent-category=analytics]")).not_to_be_checked()
    page.check("[data-consent-category=analytics]")
    page.click(f"{BANNER} [data-consent-action=save]")
    expect(page.locator(BANNER)).to_be_hidden()
    assert _stored(page)["categories"] == {"necessary": True, "analytics": True, "marketing": False}
    page.wait_for_function("() => window.__clarityRan === true")
    layer = json.loads(page.evaluate("JSON.stringify(window.dataLayer)"))
    update = [e for e in layer if e.get("0") == "consent" and e.get("1") == "update"][-1]["2"]
    assert update["analytics_storage"] == "granted" and update["ad_storage"] == "denied"


def test_cookie_preferences_reopens_the_banner_and_withdrawal_clears_cookies(visitor, tags):
    page = visitor
    page.goto("/fr/")
    page.click(f"{BANNER} [data-consent-action=accept]")
    page.wait_for_function("() => window.__clarityRan === true")
    assert {"_ga", "_clck"} <= _cookies(page)

    page.click("footer [data-consent-open]")  # « Préférences cookies »
    expect(page.locator(BANNER)).to_be_visible()
    page.click(f"{BANNER} [data-consent-action=customize]")
    expect(page.locator("[data-consent-category=analytics]")).to_be_checked()
    with page.expect_navigation():  # running tags cannot be unloaded: the page starts afresh
        page.click(f"{BANNER} [data-consent-action=reject]")
    _settle(page)
    assert not {"_ga", "_clck"} & _cookies(page)
    assert _stored(page)["categories"]["analytics"] is False
    expect(page.locator(BANNER)).to_be_hidden()
    assert page.evaluate("window.__clarityRan === true") is False


def test_the_question_comes_back_after_the_lifetime_or_a_new_banner_version(visitor, tags):
    page = visitor
    page.goto("/fr/")
    page.click(f"{BANNER} [data-consent-action=reject]")
    old = (datetime.now(UTC) - timedelta(days=391)).isoformat()
    page.evaluate(
        "t => { const c = JSON.parse(localStorage.getItem('trupeo.consent')); c.timestamp = t;"
        " localStorage.setItem('trupeo.consent', JSON.stringify(c)); }",
        old,
    )
    page.reload()
    expect(page.locator(BANNER)).to_be_visible()  # 13 months later

    page.click(f"{BANNER} [data-consent-action=reject]")
    page.reload()
    expect(page.locator(BANNER)).to_be_hidden()
    tags.TRUPEO_CONSENT_VERSION = "2"
    page.reload()
    expect(page.locator(BANNER)).to_be_visible()  # the banner changed


def test_the_language_preference_is_kept_on_the_device(visitor):
    page = visitor
    page.goto("/fr/")
    assert page.evaluate("localStorage.getItem('trupeo.language')") == "fr"
    page.click("footer a[data-language=en]")
    page.wait_for_url("**/en/")
    assert page.evaluate("localStorage.getItem('trupeo.language')") == "en"


def test_without_tags_configured_nothing_is_asked_nor_loaded(visitor, settings):
    settings.GTM_ID = settings.CLARITY_ID = ""
    page = visitor
    page.goto("/fr/")
    _settle(page)
    expect(page.locator(BANNER)).to_be_hidden()
    assert page.outside.urls == []
    assert page.evaluate("typeof window.dataLayer") == "undefined"
    page.click("footer [data-consent-open]")  # the preferences stay reachable
    expect(page.locator(BANNER)).to_be_visible()


def test_joining_the_waitlist_through_turnstile(visitor, turnstile, tags):  # noqa: F811
    """The form with the widget (stubbed: it hands the page a token the fake issued, as a
    solved challenge does), verified by the server against the fake siteverify."""
    from django.core import mail

    from privacy.models import WaitlistEntry
    from trupeo.celery import app

    token = turnstile.issue_token()
    widget = (
        "document.querySelectorAll('.cf-turnstile').forEach(function (box) {"
        " var input = document.createElement('input'); input.type = 'hidden';"
        f" input.name = 'cf-turnstile-response'; input.value = '{token}'; box.appendChild(input); }});"
    )
    page = visitor
    page.context.route(
        "https://challenges.cloudflare.com/turnstile/v0/api.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=widget),
    )
    app.conf.update(task_always_eager=True)
    try:
        page.goto("/fr/")
        page.click(f"{BANNER} [data-consent-action=reject]")
        page.fill("#id_email", "direction@lycee-exemple.fr")
        page.select_option("#id_audience", "school")
        page.click(".waitlist-form button[type=submit]")
        page.wait_for_url("**/fr/liste-d-attente/?joined=1")
    finally:
        app.conf.update(task_always_eager=False)
    assert WaitlistEntry.objects.count() == 1
    assert turnstile.spent == {token}
    assert [m.to for m in mail.outbox] == [["direction@lycee-exemple.fr"]]


def test_the_contact_form_asks_which_right_only_for_a_gdpr_request(visitor):
    page = visitor
    page.goto("/fr/contact/")
    right = page.locator("#id_gdpr_right")
    expect(right).to_be_hidden()
    page.select_option("#id_subject", "gdpr")
    expect(right).to_be_visible()
    assert [o for o in right.locator("option").evaluate_all("os => os.map(o => o.value)") if o] == [
        "access",
        "rectification",
        "erasure",
        "portability",
        "restriction",
        "objection",
        "withdrawal",
        "post_mortem",
    ]
    page.select_option("#id_subject", "question")
    expect(right).to_be_hidden()
    page.goto("/fr/contact/?subject=gdpr")  # the link from the legal notice
    expect(right).to_be_visible()
