"""The Jinja2 environment of the few partials that Django's templates include with `{% jinja %}`
(the conversation lists' rows, the inbox's sidebar, a conversation's messages): what they
need of Django, with Django's own behaviour, so that a partial renders the same text in either
engine."""

from datetime import datetime
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import defaultfilters
from django.templatetags.static import static
from django.urls import reverse
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, gettext, ngettext

from jinja2 import Environment


def _date(value, format_name: str | None = None) -> str:
    """Django's `|date`, in the current time zone as Django's templates show dates."""
    value = template_localtime(value)
    if format_name == "c" and isinstance(value, datetime):
        # What Django's "c" writes (DateFormat.c is isoformat()), without the format parsing
        # and format-module lookups that cost most of it: each message's header writes one.
        return value.isoformat()
    return defaultfilters.date(value, format_name)


@lru_cache(maxsize=4096)
def _translated(message: str, language: str | None) -> str:
    return gettext(message)


def _kept_gettext(message: str) -> str:
    """`{{ _("…") }}`: Django's gettext, kept per process and language as the `kept` tags keep
    `{% translate %}` (accounts/templatetags/kept.py): through Jinja2's i18n alias a string
    costs ~6 µs, two calls and Django's catalogue lookup; kept, mostly the language's."""
    return _translated(message, get_language())


@receiver(setting_changed, dispatch_uid="jinja_gettext_setting_changed")
def _forget(setting: str, **kwargs) -> None:
    """Tests may change the catalogues a process knows; production never does."""
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        _translated.cache_clear()


def environment(**options) -> Environment:
    # Always escaping, whatever OPTIONS say: the partials show what senders wrote.
    options.pop("autoescape", None)
    env = Environment(**options, autoescape=True, extensions=["jinja2.ext.i18n"])
    # `{{ _("…") }}`: Django's catalogue, in the request's language. makemessages finds these
    # strings as it finds `_("…")` in Django's templates (the partials are .html files).
    env.install_gettext_callables(gettext, ngettext, newstyle=False)
    env.globals["_"] = _kept_gettext
    env.globals["static"] = static
    env.globals["url"] = reverse
    env.filters["date"] = _date
    env.filters["filesizeformat"] = defaultfilters.filesizeformat
    return env
