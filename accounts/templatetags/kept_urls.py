"""`{% load kept_urls %}`: Django's `{% url %}`, its result kept per process when the tag names
only constants (`{% url 'inbox' %}`, `{% url 'conversation_triage' 0 %}`).

The layout and the inbox's sidebar reverse some 50 URLs a page, ~13 µs each; the answer only
changes with what the key holds: the URL conf, the script prefix, the language (the public
pages are under i18n_patterns) and the current app (namespaced names such as 'admin:index').
A tag with a variable (`{% url 'conversation' conversation.pk %}`) reverses every time, as
Django's does, so nothing grows with the data."""

from django import template
from django.conf import settings
from django.template.base import FilterExpression
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()

# (view name, args, URL conf, script prefix, language, current app) -> URL
_kept: dict[tuple, str] = {}


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
        url = _kept.get(key)
        if url is None:
            url = reverse(view_name, args=args, current_app=current_app)
            _kept[key] = url
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
