"""The public site: landing page, privacy policy, legal notice, contact and waitlist.

Every view here is a `public_page`: its CSP admits the configured audience tags (and Turnstile
on form pages), and its template includes the consent banner. No app page does either.
"""

import datetime as dt
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from privacy.models import PolicyVersion
from privacy.site import submissions
from privacy.site.consent import consent_context, public_page
from privacy.site.forms import ContactForm, WaitlistForm
from privacy.site.legal_texts import legal_notice_render
from privacy.site.paths import LANGUAGES, public_reverse
from privacy.site.policy import policy_in_force, policy_render, policy_upcoming
from privacy.site.ratelimit import client_ip, rate_limit_hit
from privacy.site.terms_text import current_version, terms_render, terms_versions
from privacy.site.turnstile import (
    RESPONSE_FIELD,
    TEST_TOKEN,
    turnstile_enabled,
    turnstile_local,
    turnstile_verify,
)

CONTACT_LIMIT = (5, 3600)  # five messages an hour per IP
WAITLIST_LIMIT = (10, 3600)


def _context(request: HttpRequest, page: str, **extra) -> dict:
    return {
        "page": page,
        "alternates": [
            (language, public_reverse(page, language))
            for language in LANGUAGES
            if language != request.LANGUAGE_CODE
        ],
        "turnstile_site_key": "",
        **consent_context(),
        **extra,
    }


def _turnstile_context() -> dict:
    local = turnstile_local()
    return {
        # No key, no Cloudflare script: the local trial's stand-in needs none.
        "turnstile_site_key": settings.TURNSTILE_SITE_KEY
        if turnstile_enabled() and not local
        else "",
        "turnstile_local_token": TEST_TOKEN if local else "",
        "form_closed": not turnstile_enabled(),
    }


def _checked(request: HttpRequest, form, *, scope: str, limit: tuple[int, int]) -> int | None:
    """Rate limit, then Turnstile: None when the post may go on, else the status to answer.

    The limit counts first, so a bot cannot make us call Cloudflare without bound.
    """
    if rate_limit_hit(request, scope=scope, limit=limit[0], window=limit[1]):
        form.add_error(
            None,
            _("Too many messages from your connection. Please try again in an hour."),
        )
        return 429
    result = turnstile_verify(
        token=request.POST.get(RESPONSE_FIELD, ""), remote_ip=client_ip(request)
    )
    if not result.ok:
        form.add_error(None, result.error)
        return 400
    return None


@public_page(turnstile=True)
@require_http_methods(["GET", "HEAD"])
def landing(request: HttpRequest, page: str) -> HttpResponse:
    context = _context(request, page, form=WaitlistForm(), **_turnstile_context())
    return render(request, "privacy/public/landing.html", context)


def _form_page(
    request: HttpRequest,
    page: str,
    form: forms.Form,
    *,
    limit: tuple[int, int],
    submit: Callable[[dict], None],
    done: str,
    flag: str,
    template: str,
) -> HttpResponse:
    """A public form page: a valid post passes the rate limit (per page) and Turnstile, is
    submitted, and comes back to the page with `?<flag>=1` (a reload does not post again)."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            status = _checked(request, form, scope=page, limit=limit) or 200
            if status == 200:
                submit(form.cleaned_data)
                messages.success(request, done)
                return redirect(public_reverse(page, request.LANGUAGE_CODE) + f"?{flag}=1")
        else:
            status = 400
    context = _context(
        request, page, form=form, **{flag: request.GET.get(flag) == "1"}, **_turnstile_context()
    )
    return render(request, template, context, status=status)


@public_page(turnstile=True)
@require_http_methods(["GET", "HEAD", "POST"])
def waitlist(request: HttpRequest, page: str) -> HttpResponse:
    def submit(data: dict) -> None:
        submissions.waitlist_join(
            email=data["email"], audience=data["audience"], language=request.LANGUAGE_CODE
        )

    return _form_page(
        request,
        page,
        WaitlistForm(request.POST or None),
        limit=WAITLIST_LIMIT,
        submit=submit,
        # The same words whether the address was new or not: nothing to enumerate.
        done=_("Thank you! Your address is on the waitlist."),
        flag="joined",
        template="privacy/public/waitlist.html",
    )


@public_page(turnstile=True)
@require_http_methods(["GET", "HEAD", "POST"])
def contact(request: HttpRequest, page: str) -> HttpResponse:
    initial = {}
    if request.GET.get("subject") == "gdpr":
        initial["subject"] = "gdpr"

    def submit(data: dict) -> None:
        submissions.contact_submit(
            name=data["name"],
            email=data["email"],
            subject=data["subject"],
            gdpr_right=data["gdpr_right"],
            message=data["message"],
            language=request.LANGUAGE_CODE,
        )

    return _form_page(
        request,
        page,
        ContactForm(request.POST or None, initial=initial),
        limit=CONTACT_LIMIT,
        submit=submit,
        done=_("Your message is sent. We have emailed you an acknowledgement."),
        flag="sent",
        template="privacy/public/contact.html",
    )


@public_page()
@require_http_methods(["GET", "HEAD"])
def policy(request: HttpRequest, page: str) -> HttpResponse:
    # ?version=YYYY-MM-DD shows another published version: the notice email of a coming
    # change links to it, so it can be read during the 30 days before it takes effect.
    in_force = policy_in_force()
    version = in_force
    asked = request.GET.get("version", "")
    if asked:
        try:
            version = PolicyVersion.objects.get(version=dt.date.fromisoformat(asked))
        except (ValueError, PolicyVersion.DoesNotExist):
            raise Http404(_("There is no such version of the privacy policy.")) from None
    if version is None:
        raise Http404(_("No privacy policy is in force yet."))
    rendered = policy_render(version, request.LANGUAGE_CODE)
    upcoming = policy_upcoming()
    context = _context(
        request,
        page,
        policy=rendered,
        in_force=version == in_force,
        not_yet=version.effective_date > timezone.localdate(),
        upcoming=upcoming if upcoming != version else None,
    )
    return render(request, "privacy/public/policy.html", context)


@public_page()
@require_http_methods(["GET", "HEAD"])
def legal_notice(request: HttpRequest, page: str) -> HttpResponse:
    body = legal_notice_render(request.LANGUAGE_CODE)
    return render(request, "privacy/public/legal.html", _context(request, page, body=body))


@public_page()
@require_http_methods(["GET", "HEAD"])
def processor_terms(request: HttpRequest, page: str) -> HttpResponse:
    # ?version=YYYY-MM-DD shows an earlier version: an acceptance record names the one accepted.
    version = request.GET.get("version") or current_version()
    if version not in terms_versions():
        raise Http404(_("There is no such version of the data-processing terms."))
    context = _context(
        request,
        page,
        terms=terms_render(version, request.LANGUAGE_CODE),
        in_force=version == current_version(),
    )
    return render(request, "privacy/public/processor_terms.html", context)
