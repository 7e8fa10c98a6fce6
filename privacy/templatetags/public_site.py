"""`{% public_url "policy" %}`: a public page in the current (or a given) language."""

from django import template
from django.utils.translation import get_language

from privacy.site.paths import public_reverse

register = template.Library()


@register.simple_tag
def public_url(page: str, language: str = "") -> str:
    return public_reverse(page, language or get_language() or "fr")
