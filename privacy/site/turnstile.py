"""Cloudflare Turnstile, verified on the server (siteverify). It fails closed.

No secret key, an unreachable Cloudflare, an answer we cannot read: the form is refused with a
message in words, never let through. The endpoint is a setting (TURNSTILE_VERIFY_URL) so tests
talk to a local fake that behaves like Cloudflare's, test keys included.
"""

import logging
from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RESPONSE_FIELD = "cf-turnstile-response"
TIMEOUT_SECONDS = 8
MAX_TOKEN_LENGTH = 2048  # Cloudflare's documented maximum


@dataclass(frozen=True)
class TurnstileResult:
    ok: bool
    error: str = ""  # for the visitor, in words
    codes: tuple[str, ...] = ()  # Cloudflare's error codes, for the log


def turnstile_enabled() -> bool:
    return bool(settings.TURNSTILE_SITE_KEY and settings.TURNSTILE_SECRET_KEY)


def turnstile_verify(*, token: str, remote_ip: str | None) -> TurnstileResult:
    """Ask Cloudflare whether `token` is a fresh, valid answer to the challenge."""
    if not turnstile_enabled():
        return TurnstileResult(
            False,
            _(
                "This form is closed for now: its protection against spam is not configured. "
                "Please write to us by post."
            ),
            ("not-configured",),
        )
    token = (token or "").strip()
    if not token:
        return TurnstileResult(
            False,
            _("Please complete the anti-spam check before sending (it needs JavaScript)."),
            ("missing-input-response",),
        )
    if len(token) > MAX_TOKEN_LENGTH:
        return TurnstileResult(
            False, _("The anti-spam check failed. Please try again."), ("invalid-input-response",)
        )
    fields = {
        "secret": settings.TURNSTILE_SECRET_KEY,
        "response": token,
    }
    if remote_ip:
        fields["remoteip"] = remote_ip
    try:
        response = requests.post(
            settings.TURNSTILE_VERIFY_URL, data=fields, timeout=TIMEOUT_SECONDS
        )
        response.raise_for_status()
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        # The class only: nothing of the request (it carries the secret) reaches the log.
        logger.warning("turnstile: siteverify unreachable or unreadable: %s", type(exc).__name__)
        return TurnstileResult(
            False,
            _(
                "We could not check that you are not a robot just now. Please try again in a minute."
            ),
            ("unreachable",),
        )
    if not isinstance(answer, dict):
        return TurnstileResult(
            False,
            _(
                "We could not check that you are not a robot just now. Please try again in a minute."
            ),
            ("unreadable",),
        )
    codes = tuple(str(code) for code in answer.get("error-codes") or ())
    if answer.get("success") is True:
        return TurnstileResult(True)
    logger.info("turnstile: refused (%s)", ", ".join(codes) or "no code")
    if "timeout-or-duplicate" in codes:
        return TurnstileResult(
            False,
            _("The anti-spam check expired. Please complete it again, then send."),
            codes,
        )
    if {"missing-input-secret", "invalid-input-secret"} & set(codes):
        return TurnstileResult(
            False,
            _(
                "This form is closed for now: its protection against spam is misconfigured. "
                "Please write to us by post."
            ),
            codes,
        )
    return TurnstileResult(False, _("The anti-spam check failed. Please try again."), codes)
