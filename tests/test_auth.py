"""Signing in: rate limits, social buttons only when configured, and templates fit the CSP."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import UserFactory

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.mark.django_db
def test_repeated_failed_logins_are_rate_limited(client):
    from allauth.account.adapter import get_adapter
    from django.utils import translation

    UserFactory(email="cible@example.fr")
    with translation.override("fr"):
        refusal = str(get_adapter().error_messages["too_many_login_attempts"])
    pages = [
        client.post(reverse("account_login"), {"login": "cible@example.fr", "password": "faux"})
        for _ in range(6)
    ]
    assert refusal not in pages[0].content.decode()
    assert refusal in pages[-1].content.decode()  # five failures per address, then a pause


@pytest.mark.django_db
def test_social_buttons_only_when_configured(client, settings):
    page = client.get(reverse("account_login")).content.decode()
    assert "Continuer avec" not in page
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "id.apps.googleusercontent.com", "secret": "s"}]}
    }
    page = client.get(reverse("account_login")).content.decode()
    assert "Continuer avec Google" in page


def test_our_templates_have_no_inline_script_or_style():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if re.search(r"\sstyle=", text) or re.search(r"<style", text):
            offenders.append(f"{path.name}: inline style")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                offenders.append(f"{path.name}: inline script")
        if re.search(r"\son[a-z]+=", text):
            offenders.append(f"{path.name}: event handler attribute")
    assert offenders == []
