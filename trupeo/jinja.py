"""The Jinja2 environment of the few partials that Django's templates include with `{% jinja %}`
(the conversation lists' rows, a conversation's messages): what they need of Django, with
Django's own behaviour, so that a partial renders the same text in either engine."""

from django.template import defaultfilters
from django.templatetags.static import static
from django.urls import reverse
from django.utils.timezone import template_localtime
from django.utils.translation import gettext, ngettext

from jinja2 import Environment


def _date(value, format_name: str | None = None) -> str:
    """Django's `|date`, in the current time zone as Django's templates show dates."""
    return defaultfilters.date(template_localtime(value), format_name)


def environment(**options) -> Environment:
    # Always escaping, whatever OPTIONS say: the partials show what senders wrote.
    options.pop("autoescape", None)
    env = Environment(**options, autoescape=True, extensions=["jinja2.ext.i18n"])
    # `{{ _("…") }}`: Django's catalogue, in the request's language. makemessages finds these
    # strings as it finds `_("…")` in Django's templates (the partials are .html files).
    env.install_gettext_callables(gettext, ngettext, newstyle=False)
    env.globals["static"] = static
    env.globals["url"] = reverse
    env.filters["date"] = _date
    env.filters["filesizeformat"] = defaultfilters.filesizeformat
    return env
