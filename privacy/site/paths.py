"""Where the public pages live: one path per page and language, under /fr/ or /en/.

`privacy.site.urls` names each page once (`public-<page>`) with a translated path: French
slugs for French pages, from the catalogue like any other string. Django's `i18n_patterns`
(in `trupeo/urls.py`) puts the language first, which `accounts.middleware.language_middleware`
reads first, so /en/… is always in English.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import translation

LANGUAGES = [code for code, _name in settings.LANGUAGES]


def url_name(page: str) -> str:
    return f"public-{page}"


def public_reverse(page: str, language: str) -> str:
    """The path of a public page in `language` (French when the language is not offered)."""
    with translation.override(language if language in LANGUAGES else settings.LANGUAGE_CODE):
        return reverse(url_name(page))
