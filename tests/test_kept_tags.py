"""`{% load kept %}`: Django's `{% url %}` and `{% translate %}` whose results are kept per
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
)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_same_output_as_django(language, autoescape):
    ours = Template("{% load i18n kept %}" + TAGS)
    django = Template("{% load i18n %}" + TAGS)
    values = {"label": "Mine", "pk": 42}
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
