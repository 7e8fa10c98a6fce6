"""`{% load i18n static kept %}` (after i18n and static): Django's `{% url %}`, `{% translate %}`
and `{% static %}`, their results kept per process when the tag holds only constants
(`{% url 'inbox' %}`, `{% url 'conversation_triage' 0 %}`, `{% translate "Inbox" %}`,
`{% static 'css/app.css' %}`). Same tags, same syntax: makemessages still finds the strings.

The layout and the inbox's pages reverse some 50 URLs (~13 µs each) and translate some 70
strings (~6 µs each) a page. The answer only changes with what the key holds: for a URL the
URL conf, the script prefix, the language (the public pages are under i18n_patterns) and the
current app (namespaced names such as 'admin:index'); for a string the language and whether
the template escapes; for a static file nothing but the storage's settings (the layout names
seven, each a lookup in the manifest and a URL join, ~25 µs). A tag with a variable
(`{% url 'conversation' conversation.pk %}`, `{% translate label %}`) works every time, as
Django's does, so nothing grows with the data."""

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import FilterExpression, render_value_in_context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.templatetags.i18n import TranslateNode
from django.templatetags.i18n import do_translate as django_translate
from django.templatetags.static import StaticNode
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

# (view name, args, URL conf, script prefix, language, current app) -> URL
_urls: dict[tuple, str] = {}
# (the string as written, its context, noop, language, autoescape) -> what the tag renders
_strings: dict[tuple, str | SafeString] = {}
# a static file's path -> its URL
_statics: dict[str, str] = {}


@receiver(setting_changed, dispatch_uid="kept_tags_setting_changed")
def _forget(setting: str, **kwargs) -> None:
    """Tests may change the catalogues or the URLs a process knows; production never does."""
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        _strings.clear()
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME", "INSTALLED_APPS"}:
        _urls.clear()
    if setting in {
        "STORAGES",
        "STATIC_URL",
        "STATIC_ROOT",
        "STATICFILES_DIRS",
        "INSTALLED_APPS",
        "DEBUG",
    }:
        _statics.clear()


class KeptURLNode(URLNode):
    def render(self, context) -> str:
        if self.asvar:  # `{% url … as name %}` may swallow a failed reverse: Django's way
            return super().render(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        view_name = self.view_name.resolve(context)
        args = tuple(arg.resolve(context) for arg in self.args)
        key = (
            view_name,
            args,
            get_urlconf() or settings.ROOT_URLCONF,
            get_script_prefix(),
            get_language(),
            current_app,
        )
        url = _urls.get(key)
        if url is None:
            url = reverse(view_name, args=args, current_app=current_app)
            _urls[key] = url
        return conditional_escape(url) if context.autoescape else url


def _constant(expression: FilterExpression) -> bool:
    """A quoted string or a number, without filters: the same value on every render."""
    if expression.filters:
        return False
    if not expression.is_var:
        return True
    return expression.var.lookups is None and not expression.var.translate


@register.tag
def url(parser, token):
    """Django's `{% url %}`; the result kept when the view name and arguments are constants."""
    node = django_url(parser, token)
    constant = not node.kwargs and all(
        _constant(expression) for expression in (node.view_name, *node.args)
    )
    if constant:
        node.__class__ = KeptURLNode
    return node


class KeptTranslateNode(TranslateNode):
    def translated(self, context) -> str | SafeString:
        """What Django's TranslateNode.render() makes of the string (without `as`)."""
        self.filter_expression.var.translate = not self.noop
        if self.message_context:
            self.filter_expression.var.message_context = self.message_context.resolve(context)
        value = render_value_in_context(self.filter_expression.resolve(context), context)
        # Percent signs are doubled in the template's text (not format flags): put back.
        if isinstance(value, SafeData):
            return mark_safe(value.replace("%%", "%"))  # noqa: S308 (safe already, as in Django)
        return value.replace("%%", "%")

    def render(self, context) -> str:
        key = (
            self.filter_expression.token,
            self.message_context and self.message_context.token,
            self.noop,
            get_language(),
            context.autoescape,
        )
        value = _strings.get(key)
        if value is None:
            value = _strings[key] = self.translated(context)
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


@register.tag("translate")
def translate(parser, token):
    """Django's `{% translate %}`; the result kept when the string and its context are
    constants."""
    node = django_translate(parser, token)
    if _constant(node.filter_expression) and (
        node.message_context is None or _constant(node.message_context)
    ):
        node.__class__ = KeptTranslateNode
    return node


class KeptStaticNode(StaticNode):
    def url(self, context) -> str:
        path = self.path.resolve(context)
        found = _statics.get(path)
        if found is None:  # a file missing from the manifest raises, every time, as Django's
            found = _statics[path] = self.handle_simple(path)
        return found


@register.tag("static")
def static(parser, token):
    """Django's `{% static %}`; the URL kept when the path is a constant."""
    node = StaticNode.handle_token(parser, token)
    if _constant(node.path):
        node.__class__ = KeptStaticNode
    return node
