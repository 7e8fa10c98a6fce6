"""`{% load kept %}`: Django's `{% url %}`, `{% translate %}` and `{% static %}` whose results are kept per
process must render exactly what Django's own tags render, in every language and escaping,
and must not keep what changes with the data."""

import pytest
from django.template import Context, Template
from django.utils import translation

from accounts.templatetags import kept

TAGS = (
    "{% translate 'Inbox' %}|{% translate 'Closed' context 'inbox view' %}"
    "|{% translate label %}|{% translate 'Search' as s %}[{{ s }}]|{% translate 'Tags' noop %}"
    "|{% url 'inbox' %}|{% url 'conversation_triage' 0 %}|{% url 'conversation' pk %}"
    "|{% url 'inbox' as u %}[{{ u }}]|{% url 'admin:index' %}"
    "|{% static 'css/app.css' %}|{% static path %}|{% static 'img/logo.svg' as logo %}[{{ logo }}]"
)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_same_output_as_django(language, autoescape):
    ours = Template("{% load i18n static kept %}" + TAGS)
    django = Template("{% load i18n static %}" + TAGS)
    values = {"label": "Mine", "pk": 42, "path": "js/app.js?a=<b>"}
    with translation.override(language):
        for _ in range(2):  # the second time from what was kept
            expected = django.render(Context(values, autoescape=autoescape))
            assert ours.render(Context(values, autoescape=autoescape)) == expected


def test_language_is_part_of_the_key():
    template = Template("{% load i18n kept %}{% translate 'Inbox' %}")
    with translation.override("fr"):
        french = template.render(Context())
    with translation.override("en"):
        english = template.render(Context())
    assert (french, english) == ("Boîte de réception", "Inbox")


def test_variables_are_not_kept():
    template = Template("{% load i18n kept %}{% url 'conversation' pk %}{% translate label %}")
    before = (len(kept._urls), len(kept._strings))
    with translation.override("en"):
        assert template.render(Context({"pk": 1, "label": "Mine"})) == "/inbox/c/1/Mine"
        assert template.render(Context({"pk": 2, "label": "Tags"})) == "/inbox/c/2/Tags"
    assert (len(kept._urls), len(kept._strings)) == before


def test_a_changed_setting_forgets(settings):
    Template("{% load i18n kept %}{% url 'inbox' %}{% translate 'Inbox' %}").render(Context())
    assert kept._urls and kept._strings
    settings.ROOT_URLCONF = "trupeo.urls"
    settings.LANGUAGES = [("fr", "Français"), ("en", "English")]
    assert not kept._urls and not kept._strings


def test_static_follows_the_storage_and_keeps_no_variable_path(settings):
    template = Template("{% load static kept %}{% static 'css/app.css' %}|{% static path %}")
    assert template.render(Context({"path": "a.css"})) == "/static/css/app.css|/static/a.css"
    assert template.render(Context({"path": "b.css"})) == "/static/css/app.css|/static/b.css"
    assert set(kept._statics) == {"css/app.css"}
    settings.STATIC_URL = "/assets/"
    assert not kept._statics
    assert template.render(Context({"path": "a.css"})) == "/assets/css/app.css|/assets/a.css"


def test_a_static_file_missing_from_the_manifest_fails_every_time(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = tmp_path
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1", "hash": ""}')
    template = Template("{% load static kept %}{% static 'nowhere.css' %}")
    for _ in range(2):
        with pytest.raises(ValueError):
            template.render(Context())
    assert not kept._statics
