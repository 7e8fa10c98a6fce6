"""Consent and audience measurement, for the public site only.

Only the public templates include the consent scripts; an authenticated page of the app, where
mail is on screen, never carries tag code, consent or not. With neither GTM_ID nor CLARITY_ID
configured no tag code is served at all, and the CSP names no third-party host.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse

GTM_HOST = "https://www.googletagmanager.com"
# What Google documents for GTM + GA4 under a nonce-based CSP.
GOOGLE_SCRIPT = [GTM_HOST]
GOOGLE_CONNECT = [
    "https://*.google-analytics.com",
    "https://*.analytics.google.com",
    "https://*.googletagmanager.com",
]
GOOGLE_IMG = ["https://*.google-analytics.com", "https://*.googletagmanager.com"]
# Clarity's loader (www), its script (scripts.clarity.ms) and its collectors.
CLARITY_SCRIPT = ["https://www.clarity.ms", "https://scripts.clarity.ms"]
CLARITY_CONNECT = ["https://*.clarity.ms", "https://c.bing.com"]
CLARITY_IMG = ["https://*.clarity.ms", "https://c.bing.com"]
TURNSTILE_HOST = "https://challenges.cloudflare.com"

# GA4 cookies live 13 months at most (policy, section 9): 390 days in seconds.
GA_COOKIE_EXPIRES = 390 * 24 * 3600


def tags_configured() -> bool:
    return bool(settings.GTM_ID or settings.CLARITY_ID)


def consent_context() -> dict:
    """What the public templates need to render the banner and, when configured, the tags."""
    return {
        "consent_version": settings.TRUPEO_CONSENT_VERSION,
        "consent_lifetime_days": settings.TRUPEO_CONSENT_LIFETIME_DAYS,
        "tags": {
            "gtm_id": settings.GTM_ID,
            "clarity_id": settings.CLARITY_ID,
            "strict": settings.TRUPEO_CONSENT_STRICT,
            "ga_cookie_expires": GA_COOKIE_EXPIRES,
        }
        if tags_configured()
        else None,
    }


def public_csp(*, turnstile: bool = False) -> dict[str, list[str]]:
    """The site's CSP plus exactly the hosts this public page needs."""
    config = {name: list(values) for name, values in settings.SECURE_CSP.items()}

    def allow(directive: str, hosts: list[str]) -> None:
        config.setdefault(directive, [])
        config[directive] += [host for host in hosts if host not in config[directive]]

    if settings.GTM_ID:
        allow("script-src", GOOGLE_SCRIPT)
        allow("connect-src", GOOGLE_CONNECT)
        allow("img-src", GOOGLE_IMG)
    if settings.CLARITY_ID:
        allow("script-src", CLARITY_SCRIPT)
        allow("connect-src", CLARITY_CONNECT)
        allow("img-src", CLARITY_IMG)
    if turnstile and settings.TURNSTILE_SITE_KEY:
        allow("script-src", [TURNSTILE_HOST])
        allow("frame-src", [TURNSTILE_HOST])
    return config


View = Callable[..., HttpResponse]


def public_page(*, turnstile: bool = False) -> Callable[[View], View]:
    """Mark a view as a public page: its CSP admits the configured tags (and Turnstile).

    Computed per response, not at import, so the settings in force are the ones used.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response._csp_config = public_csp(turnstile=turnstile)  # type: ignore[attr-defined]
            return response

        return wrapped

    return decorator
