"""The local trial's Turnstile stand-in: with DEBUG and Cloudflare's published test keys the
contact and waitlist forms work offline; with DEBUG off the same keys still go to Cloudflare,
and nothing but those test keys ever turns the stand-in on."""

import re

import pytest
from django.core import mail

from privacy.models import ContactMessage, WaitlistEntry
from tests.parts import free_loopback_port
from tests.parts.turnstile_fake import DUMMY_TOKEN, SECRET_FAIL, SECRET_PASS, SITE_KEY_PASS
from tests.privacy_site.posts import contact_post

pytestmark = pytest.mark.django_db

CONTACT = "/fr/contact/"
CONTACT_EN = "/en/contact/"
WAITLIST = "/fr/liste-d-attente/"
PRODUCTION_SITE_KEY = "0x4AAAAAAAfakeProductionSiteKey"


@pytest.fixture
def offline(settings):
    """The local trial: DEBUG, test keys, and a siteverify endpoint nobody answers."""
    settings.DEBUG = True
    settings.TURNSTILE_SITE_KEY = SITE_KEY_PASS
    settings.TURNSTILE_SECRET_KEY = SECRET_PASS
    settings.TURNSTILE_VERIFY_URL = f"https://127.0.0.1:{free_loopback_port()}/siteverify"
    return settings


def _hidden_token(page: str) -> str:
    match = re.search(r'name="cf-turnstile-response" value="([^"]+)"', page)
    assert match, "the stand-in puts its token in the form"
    return match.group(1)


def test_offline_the_contact_form_works_through_the_local_stand_in(client, post, offline):
    page = client.get(CONTACT).content.decode()
    assert "challenges.cloudflare.com" not in page  # no script from Cloudflare to load
    assert 'class="cf-turnstile"' not in page
    assert "Cloudflare" in page  # the visitor is told the check is simulated
    response = post(CONTACT, contact_post(_hidden_token(page)))
    assert response.status_code == 302
    assert ContactMessage.objects.count() == 1
    assert mail.outbox  # the acknowledgement


def test_offline_the_waitlist_form_works_through_the_local_stand_in(client, post, offline):
    page = client.get(WAITLIST).content.decode()
    response = post(
        WAITLIST,
        {
            "email": "karim.benali@example.fr",
            "audience": "school",
            "cf-turnstile-response": _hidden_token(page),
        },
    )
    assert response.status_code == 302
    assert WaitlistEntry.objects.count() == 1


def test_the_stand_in_answers_like_cloudflares_test_secrets(client, post, offline):
    offline.TURNSTILE_SECRET_KEY = SECRET_FAIL  # Cloudflare's "always fails"
    response = post(CONTACT_EN, contact_post(DUMMY_TOKEN))
    assert response.status_code == 400 and "anti-spam check failed" in response.content.decode()
    offline.TURNSTILE_SECRET_KEY = SECRET_PASS
    response = post(CONTACT_EN, contact_post(""))  # a bot that skips the field
    assert response.status_code == 400
    assert "complete the anti-spam check" in response.content.decode()
    assert not ContactMessage.objects.exists()


def test_in_production_the_test_keys_still_go_to_cloudflare(client, post, settings, turnstile):
    settings.DEBUG = False
    settings.TURNSTILE_SITE_KEY, settings.TURNSTILE_SECRET_KEY = SITE_KEY_PASS, SECRET_PASS
    page = client.get(CONTACT).content.decode()
    assert "challenges.cloudflare.com/turnstile" in page and 'class="cf-turnstile"' in page
    assert 'name="cf-turnstile-response" value=' not in page
    post(CONTACT, contact_post(DUMMY_TOKEN))
    assert len(turnstile.verifications) == 1  # asked Cloudflare (here its fake)


def test_in_production_an_unreachable_cloudflare_refuses_even_test_keys(client, post, settings):
    settings.DEBUG = False
    settings.TURNSTILE_SITE_KEY, settings.TURNSTILE_SECRET_KEY = SITE_KEY_PASS, SECRET_PASS
    settings.TURNSTILE_VERIFY_URL = f"https://127.0.0.1:{free_loopback_port()}/siteverify"
    response = post(CONTACT_EN, contact_post(DUMMY_TOKEN))
    assert response.status_code == 400
    assert "could not check that you are not a robot" in response.content.decode()
    assert not ContactMessage.objects.exists()


def test_debug_with_real_keys_uses_cloudflare_not_the_stand_in(client, post, settings, turnstile):
    settings.DEBUG = True
    settings.TURNSTILE_SITE_KEY = PRODUCTION_SITE_KEY  # the fixture's secret is a real-looking one
    page = client.get(CONTACT).content.decode()
    assert 'class="cf-turnstile"' in page
    response = post(CONTACT_EN, contact_post(DUMMY_TOKEN))  # a forged "test" token
    assert response.status_code == 400
    assert len(turnstile.verifications) == 1
    assert not ContactMessage.objects.exists()
