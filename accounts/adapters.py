"""django-allauth hooks: where a new or returning user lands, and invited sign-ups."""

from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.shortcuts import get_current_site
from django.http import Http404, HttpRequest
from django.urls import reverse


def _pending_invitation_url(request: HttpRequest) -> str | None:
    """Someone who opened an invitation link and then logged in or signed up goes back to it."""
    token = request.session.get("pending_invitation")
    return reverse("invitation_accept", args=[token]) if token else None


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return _pending_invitation_url(request) or super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return _pending_invitation_url(request) or super().get_signup_redirect_url(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Without django.contrib.sites allauth names the site after the request's host
        # ("127.0.0.1:8000"); its mail says "Trupeo", and its links keep the host served on.
        domain = get_current_site(allauth_context.request).domain
        site = SimpleNamespace(name="Trupeo", domain=domain)
        super().send_mail(template_prefix, email, {"current_site": site, **context})

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.language = getattr(request, "LANGUAGE_CODE", user.language)
        if commit:
            user.save()
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_provider(self, request: HttpRequest, provider, client_id=None):
        # Sign-in with Google or Microsoft is offered only when its keys are set; without them
        # allauth's login and callback URLs still exist and would answer a 500.
        try:
            return super().get_provider(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404("This sign-in method is not set up.") from None

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        full_name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        user.name = data.get("name") or full_name
        return user
