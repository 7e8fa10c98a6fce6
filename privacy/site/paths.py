"""Where the public pages live: one path per page and language, under /fr/ or /en/.

French slugs for French pages. The prefix is what `accounts.middleware.language_middleware`
reads first, so /en/… is always in English.
"""

from django.urls import reverse

SLUGS: dict[str, dict[str, str]] = {
    "fr": {
        "home": "",
        "policy": "politique-de-confidentialite/",
        "legal": "mentions-legales/",
        "contact": "contact/",
        "waitlist": "liste-d-attente/",
        "processor_terms": "conditions-de-sous-traitance/",
    },
    "en": {
        "home": "",
        "policy": "privacy-policy/",
        "legal": "legal-notice/",
        "contact": "contact/",
        "waitlist": "waitlist/",
        "processor_terms": "data-processing-terms/",
    },
}


def url_name(page: str, language: str) -> str:
    return f"public-{page}-{language}"


def public_reverse(page: str, language: str) -> str:
    """The path of a public page in `language` (French when the language is not offered)."""
    return reverse(url_name(page, language if language in SLUGS else "fr"))
