from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from trupeo.admin_guard import guard_admin_views

# Django admin logs in through allauth (rate limits, MFA) rather than its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Trupeo"
guard_admin_views(admin.site)


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # The public site under /fr/ and /en/ (privacy.urls_public).
    path("", include("privacy.urls_public")),
    path("", include("accounts.urls")),
    path("", include("privacy.account_urls")),
    path("", include("inbox.urls")),
    path("billing/", include("billing.urls")),
]
