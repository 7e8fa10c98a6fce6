"""The public site's URLs (paths in `privacy.site.paths`), named `public-<page>-<lang>`."""

from django.urls import path

from privacy.site import views
from privacy.site.paths import SLUGS, url_name

VIEWS = {
    "home": views.landing,
    "policy": views.policy,
    "legal": views.legal_notice,
    "contact": views.contact,
    "waitlist": views.waitlist,
    "processor_terms": views.processor_terms,
}

urlpatterns = [
    path(f"{language}/{slug}", VIEWS[page], {"page": page}, name=url_name(page, language))
    for language, slugs in SLUGS.items()
    for page, slug in slugs.items()
]
