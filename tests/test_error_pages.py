"""403, 404 and 500 in the product's layout and in the reader's language; the 500 page renders
with nothing from the request (the database, the session or a context processor may be what
broke)."""

import pytest
from django.test import RequestFactory
from django.utils import translation
from django.views.defaults import server_error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"), [("fr", "Page introuvable"), ("en", "Page not found")]
)
def test_404_is_in_the_layout_and_the_users_language(alice_client, alice, language, words):
    alice.language = language
    alice.save(update_fields=["language"])
    response = alice_client.get("/inbox/c/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert words in page
    assert 'class="topbar"' in page and f'lang="{language}"' in page
    assert "Not Found" not in page and "The requested resource" not in page


@pytest.mark.django_db
def test_404_for_a_visitor_speaks_french_by_default(client):
    page = client.get("/nulle-part/").content.decode()
    assert "Page introuvable" in page and "Revenir à Trupeo" in page


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [("fr", "Accès refusé"), ("en", "Access refused")])
def test_403_is_in_the_layout_and_the_users_language(bob_client, bob, language, words):
    bob.language = language
    bob.save(update_fields=["language"])
    response = bob_client.get("/billing/")  # an agent on an admin's page
    assert response.status_code == 403
    page = response.content.decode()
    assert words in page and 'class="topbar"' in page
    assert "403 Forbidden" not in page


@pytest.mark.parametrize(
    ("language", "words"), [("fr", "Un problème est survenu"), ("en", "Something went wrong")]
)
def test_500_renders_without_the_request_or_the_database(language, words, django_db_blocker):
    request = RequestFactory().get("/inbox/")  # no user, no session, no workspace
    with translation.override(language), django_db_blocker.block():  # no query may run
        response = server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert words in page and f'lang="{language}"' in page
    assert "Server Error (500)" not in page
