"""The public site's URLs, named `public-<page>` (reversed in a language by
`privacy.site.paths.public_reverse`). Included under `i18n_patterns`: /fr/… and /en/….

The path segments are translated (context "URL"): the French catalogue gives the French
slugs. They are published addresses (the policy, the emails and other sites link to them):
a translation, once published, is never changed.
"""

from django.urls import path
from django.utils.translation import pgettext_lazy

from privacy.site import views
from privacy.site.paths import url_name

urlpatterns = [
    path("", views.landing, {"page": "home"}, name=url_name("home")),
    path(
        pgettext_lazy("URL", "privacy-policy/"),
        views.policy,
        {"page": "policy"},
        name=url_name("policy"),
    ),
    path(
        pgettext_lazy("URL", "legal-notice/"),
        views.legal_notice,
        {"page": "legal"},
        name=url_name("legal"),
    ),
    path(
        pgettext_lazy("URL", "contact/"),
        views.contact,
        {"page": "contact"},
        name=url_name("contact"),
    ),
    path(
        pgettext_lazy("URL", "waitlist/"),
        views.waitlist,
        {"page": "waitlist"},
        name=url_name("waitlist"),
    ),
    path(
        pgettext_lazy("URL", "data-processing-terms/"),
        views.processor_terms,
        {"page": "processor_terms"},
        name=url_name("processor_terms"),
    ),
]
