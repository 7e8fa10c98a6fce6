from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

# Django admin logs in through allauth (rate limits, MFA) rather than its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Trupeo"


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
    # The public site under /fr/ and /en/ (privacy.urls_public).
    path("", include("privacy.urls_public")),
    path("", include("accounts.urls")),
    path("", include("privacy.account_urls")),
    path("", include("inbox.urls")),
    path("billing/", include("billing.urls")),
]
