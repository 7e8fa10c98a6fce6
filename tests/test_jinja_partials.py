"""The Jinja2 partials that Django's templates include with `{% jinja %}`."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import TemplateSyntaxError, engines
from django.test import RequestFactory
from django.utils import translation

HOSTILE = "<script>alert('x')</script>"


def _django(source: str, **context) -> str:
    return engines["django"].from_string("{% load jinja %}" + source).render(context)


def test_the_environment_escapes_whatever_the_settings_say():
    from trupeo.jinja import environment

    env = environment(autoescape=False)
    assert env.from_string("{{ v }}").render(v=HOSTILE) == (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    )


@pytest.fixture
def partials(settings, tmp_path):
    """A `jinja2/` of the test's own beside the app's Django templates."""
    (tmp_path / "probe.html").write_text(
        "{{ shown }}|{{ hidden is defined }}|{{ _('Unread for you') }}|{{ request.path }}"
    )
    jinja = next(e for e in settings.TEMPLATES if e.get("NAME") == "jinja2")
    settings.TEMPLATES = [
        e if e is not jinja else {**jinja, "DIRS": [tmp_path]} for e in settings.TEMPLATES
    ]
    return tmp_path


def test_a_partial_gets_the_values_named_escaped_and_in_the_current_language(partials, rf):
    with translation.override("fr"):
        html = _django(
            '{% jinja "probe.html" shown=value %}', value=HOSTILE, hidden=1, request=rf.get("/x/")
        )
    assert html == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;|False|Non lue pour vous|/x/"


def test_a_date_reads_in_the_current_time_zone_as_in_django_templates(settings):
    from trupeo.jinja import environment

    env = environment()
    when = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    with translation.override("fr"):
        jinja = env.from_string('{{ when|date("SHORT_DATETIME_FORMAT") }}').render(when=when)
        django = engines["django"].from_string('{{ when|date:"SHORT_DATETIME_FORMAT" }}')
        assert jinja == django.render({"when": when}) == "02/03/2026 00:30"


def test_strings_come_from_the_catalogue():
    from trupeo.jinja import environment

    env = environment()
    with translation.override("fr"):
        assert env.from_string('{{ _("Unread for you") }}').render() == "Non lue pour vous"
        late = env.from_string('{{ _("%(span)s late")|format(span=s) }}').render(s="<2 h>")
    assert "&lt;2 h&gt;" in late and "<2 h>" not in late


def test_the_request_and_its_csrf_token_reach_the_partial(rf: RequestFactory):
    request = rf.get("/")
    template = engines["jinja2"].from_string("{{ csrf_token }}|{{ request.path }}")
    rendered = template.render({}, request)
    token, path = rendered.split("|")
    assert len(token) == 64 and path == "/"


def test_a_partial_writes_the_csrf_input_of_the_page_that_includes_it(partials, rf):
    """`{{ csrf_input }}` is what `{% csrf_token %}` writes beside the include: from the
    context's `csrf_token` when there is no request (a partial rendered on its own), and with
    one, the page's token in every form (Django's backend would mask a new one each time)."""
    (partials / "form.html").write_text("{{ csrf_input }}")
    source = '{% csrf_token %}|{% jinja "form.html" %}|{% jinja "form.html" %}'
    field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{"t" * 64}">'
    assert _django(source, csrf_token="t" * 64).split("|") == [field] * 3
    assert _django(source) == "||"
    request = rf.get("/")
    request.user = AnonymousUser()
    page = engines["django"].from_string("{% load jinja %}" + source).render({}, request)
    first, *others = page.split("|")
    assert first.startswith('<input type="hidden" name="csrfmiddlewaretoken" value="')
    assert others == [first, first]


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC),  # Paris changes to summer time
        datetime(2026, 3, 1, 12, 5),  # naive: shown as it is
        datetime(2026, 3, 1, 12, 5).date(),
        None,
        "",
    ],
)
def test_an_iso_date_is_the_one_django_writes(when):
    from trupeo.jinja import environment

    jinja = environment().from_string('{{ when|date("c") }}').render(when=when)
    assert jinja == engines["django"].from_string("{{ when|date:'c' }}").render({"when": when})


def test_strings_follow_the_active_language_although_kept():
    from trupeo.jinja import environment

    template = environment().from_string('{{ _("Unread for you") }}')
    for language, expected in [("fr", "Non lue pour vous"), ("en", "Unread for you")] * 2:
        with translation.override(language):
            assert template.render() == expected


@pytest.mark.parametrize(
    "source",
    [
        "{% jinja %}",
        "{% jinja inbox/rows.html %}",
        '{% jinja "inbox/rows.html" rows %}',
        "{% jinja 'inbox/rows.html\" %}",
    ],
)
def test_a_malformed_tag_is_a_syntax_error(source):
    with pytest.raises(TemplateSyntaxError):
        _django(source)
