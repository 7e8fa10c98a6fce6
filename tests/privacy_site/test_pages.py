"""The public pages: landing, policy (as published), legal notice; the footer; what the root
does; and that tags and their CSP hosts appear only on public pages, only when configured."""

import html
import re
from pathlib import Path

import pytest
from django.urls import reverse

# The policy as Trupeo published it (version of 2026-04-25), kept byte for byte.
SEED = (
    Path(__file__).resolve().parents[1] / "fixtures" / "politique-de-confidentialite-2026-04-25.md"
)
# Where the published text lives beside the repository, when it does.
PUBLISHED = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "seeds"
    / "politique-de-confidentialite.md"
)
PUBLIC_PAGES = [
    "/fr/",
    "/en/",
    "/fr/politique-de-confidentialite/",
    "/en/privacy-policy/",
    "/fr/mentions-legales/",
    "/en/legal-notice/",
    "/fr/contact/",
    "/en/contact/",
    "/fr/liste-d-attente/",
    "/en/waitlist/",
]

pytestmark = pytest.mark.django_db


def _text(fragment: str) -> str:
    inline = re.sub(r"</?(strong|em|code|a)\b[^>]*>", "", fragment)
    return html.unescape(re.sub(r"<[^>]+>", " ", inline))


def _words(text: str) -> list[str]:
    return text.split()


def _policy_body(page: str) -> str:
    return page.split('<div class="policy-body">', 1)[1].split("</article>", 1)[0]


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_every_public_page_has_the_footer_links_and_the_banner(client, url):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="consent-banner"' in page
    assert "data-consent-open" in page  # « Préférences cookies »
    policy = (
        "/en/privacy-policy/" if url.startswith("/en/") else "/fr/politique-de-confidentialite/"
    )
    assert f'href="{policy}"' in page
    assert response.headers["Content-Language"] == url[1:3]


def test_the_root_sends_a_visitor_to_the_landing_page_in_their_language(client):
    assert client.get("/").url == "/fr/"
    client.cookies["trupeo_language"] = "en"
    assert client.get("/").url == "/en/"


def test_a_logged_in_user_goes_from_the_root_to_the_inbox_and_sees_open_trupeo(alice_client):
    assert alice_client.get("/").url == reverse("inbox")
    page = alice_client.get("/fr/").content.decode()
    assert f'<a class="button" href="{reverse("home")}">' in page  # « Ouvrir Trupeo »
    assert reverse("account_login") not in page


def test_the_landing_page_tells_what_trupeo_is_and_offers_the_waitlist(client):
    page = client.get("/fr/").content.decode()
    assert 'action="/fr/liste-d-attente/"' in page
    assert "contact@" in page and "AES-256" in page
    assert 'hreflang="en" href="/en/"' in page


def test_the_french_policy_is_word_for_word_the_published_one(client):
    seed = SEED.read_text(encoding="utf-8")
    if PUBLISHED.exists():  # the copy kept here is still the published text
        assert PUBLISHED.read_text(encoding="utf-8") == seed
    seed = seed.split("Politique de Confidentialité", 1)[1]  # the title is the page's h1
    seed = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", seed)  # [text](url) -> text
    seed = re.sub(r"<(/[^>]*|https?://[^>]*)>", r"\1", seed)  # <url> -> url
    seed = re.sub(r"(?m)^- ", "", seed)  # list bullets
    seed = seed.replace("**", "").replace("`", "").replace("*", "")
    seed_words = [w for w in _words(seed) if not re.fullmatch(r"-{3,}", w)]

    page = client.get("/fr/politique-de-confidentialite/").content.decode()
    # An ordered list shows its numbers, as the published "Sommaire" does.
    body = re.sub(
        r"<ol>(.*?)</ol>",
        lambda m: "".join(
            f"{i}. {item}" for i, item in enumerate(m.group(1).split("<li>")[1:], start=1)
        ),
        _policy_body(page),
        flags=re.S,
    )
    assert _words(_text(body)) == seed_words


def test_the_policy_shows_its_version_a_table_of_contents_and_anchors(client):
    page = client.get("/fr/politique-de-confidentialite/").content.decode()
    assert "2026-04-25" in page
    toc = re.search(r'<nav class="policy-toc".*?</nav>', page, re.S).group(0)
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert len(anchors) == 13
    for anchor in anchors:
        assert f'id="{anchor}"' in page, anchor
    # The text's own "Sommaire" links to the same sections.
    body = _policy_body(page)
    assert re.findall(r'<li><a href="#([^"]+)">', body)[:13] == anchors


def test_the_english_policy_has_the_same_sections_and_says_french_binds(client):
    page = client.get("/en/privacy-policy/").content.decode()
    anchors = re.findall(
        r'href="#([^"]+)"', re.search(r'<nav class="policy-toc".*?</nav>', page, re.S).group(0)
    )
    assert len(anchors) == 13
    assert "the French version is the one that binds" in page
    assert 'id="cookies-and-trackers"' in page and "/en/contact/" in page


def test_the_legal_notice_names_publisher_director_and_host(client):
    page = _text(client.get("/fr/mentions-legales/").content.decode())
    for needle in (
        "ALK Innovations",
        "983 856 642",
        "Quentin Georget",
        "Microsoft France SAS",
        "Issy-les-Moulineaux",
    ):
        assert needle in page


def test_without_gtm_or_clarity_no_tag_code_and_no_third_party_host(client, settings):
    settings.GTM_ID = settings.CLARITY_ID = ""
    settings.TURNSTILE_SITE_KEY = ""
    response = client.get("/fr/")
    page = response.content.decode()
    assert (
        "consent-tags.js" not in page and "googletagmanager" not in page and "clarity" not in page
    )
    assert "https://" not in response.headers["Content-Security-Policy"]


def test_with_tags_the_public_csp_names_exactly_their_hosts_and_keeps_nonces(client, settings):
    settings.GTM_ID, settings.CLARITY_ID = "GTM-ABC1234", "abcdef1234"
    response = client.get("/fr/politique-de-confidentialite/")
    page = response.content.decode()
    csp = dict(
        (part.split()[0], part.split()[1:])
        for part in response.headers["Content-Security-Policy"].split("; ")
    )
    assert 'data-gtm-id="GTM-ABC1234"' in page and 'data-clarity-id="abcdef1234"' in page
    assert any(v.startswith("'nonce-") for v in csp["script-src"])
    assert "'unsafe-inline'" not in csp["script-src"]
    assert set(csp["script-src"]) - {"'self'"} - {
        v for v in csp["script-src"] if v.startswith("'nonce-")
    } == {
        "https://www.googletagmanager.com",
        "https://www.clarity.ms",
        "https://scripts.clarity.ms",
    }
    assert "https://*.google-analytics.com" in csp["connect-src"]
    assert "https://*.clarity.ms" in csp["connect-src"]
    assert csp["frame-src"] == ["'self'"]  # no Turnstile on the policy page


def test_strict_mode_is_passed_to_the_page(client, settings):
    settings.GTM_ID, settings.TRUPEO_CONSENT_STRICT = "GTM-ABC1234", True
    assert 'data-strict="true"' in client.get("/fr/").content.decode()
    settings.TRUPEO_CONSENT_STRICT = False
    assert 'data-strict="false"' in client.get("/fr/").content.decode()


def test_app_pages_never_carry_tags_nor_their_hosts(alice_client, settings):
    settings.GTM_ID, settings.CLARITY_ID = "GTM-ABC1234", "abcdef1234"
    for name in ("inbox", "members", "profile"):
        response = alice_client.get(reverse(name))
        assert response.status_code == 200
        page = response.content.decode()
        assert "consent" not in page and "GTM-ABC1234" not in page and "abcdef1234" not in page
        assert "googletagmanager" not in response.headers["Content-Security-Policy"]
        assert "clarity" not in response.headers["Content-Security-Policy"]


def test_the_form_pages_allow_turnstile_only_when_it_is_configured(client, settings):
    settings.TURNSTILE_SITE_KEY, settings.TURNSTILE_SECRET_KEY = (
        "1x00000000000000000000AA",
        "secret",
    )
    response = client.get("/fr/contact/")
    assert "https://challenges.cloudflare.com" in response.headers["Content-Security-Policy"]
    assert 'data-sitekey="1x00000000000000000000AA"' in response.content.decode()
    assert (
        "challenges.cloudflare.com"
        not in client.get("/fr/mentions-legales/").headers["Content-Security-Policy"]
    )
