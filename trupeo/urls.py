from allauth.account.decorators import secure_admin_login
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from api import v1 as api_v1
from trupeo.admin_guard import guard_admin_views

# Django admin logs in through allauth (rate limits, MFA) rather than its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Trupeo"
guard_admin_views(admin.site)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (a raw file, an error)."""
    return HttpResponseRedirect(static("img/favicon.svg"))


urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # The public site under /fr/ and /en/, with translated paths (privacy.site.urls).
    *i18n_patterns(path("", include("privacy.site.urls"))),
    path("", include("accounts.urls")),
    path("", include("privacy.gdpr.urls")),
    path("", include("inbox.urls")),
    path("", include("webhooks.urls")),
    # The requester portal, /p/<workspace slug>/ (and its admin page under settings/).
    path("", include("portal.urls")),
    path("", include("reports.urls")),
    path("", include("sla.urls")),
    path("", include("contacts.urls")),
    path("billing/", include("billing.urls")),
    path("api/v1/", api_v1.urls()),
    path("", include("api.urls")),
]

# JSON errors under /api/, the usual pages elsewhere (api.errors).
handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"
