"""Cloudflare Turnstile, verified on the server (siteverify). It fails closed.

No secret key, an unreachable Cloudflare, an answer we cannot read: the form is refused with a
message in words, never let through. The endpoint is a setting (TURNSTILE_VERIFY_URL) so tests
talk to a local fake that behaves like Cloudflare's, test keys included.

The local trial (`make run`, offline) sets Cloudflare's published test keys: with DEBUG on and
only then, the widget is a local stand-in and the check is answered here, as Cloudflare answers
for those keys, without a request. With DEBUG off every token goes to Cloudflare.
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

# Cloudflare's published test keys (developers.cloudflare.com/turnstile/troubleshooting/testing).
TEST_SITE_KEYS = frozenset(
    {
        "1x00000000000000000000AA",  # always passes (visible)
        "2x00000000000000000000AB",  # always blocks (visible)
        "1x00000000000000000000BB",  # always passes (invisible)
        "2x00000000000000000000BB",  # always blocks (invisible)
        "3x00000000000000000000FF",  # forces an interactive challenge
    }
)
TEST_SECRET_CODES = {
    "1x0000000000000000000000000000000AA": (),  # always passes
    "2x0000000000000000000000000000000AA": ("invalid-input-response",),  # always fails
    "3x0000000000000000000000000000000AA": ("timeout-or-duplicate",),  # "already spent"
}
# What Cloudflare's test widgets hand to the page.
TEST_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"  # noqa: S105 - public, documented by Cloudflare


@dataclass(frozen=True)
class TurnstileResult:
    ok: bool
    error: str = ""  # for the visitor, in words
    codes: tuple[str, ...] = ()  # Cloudflare's error codes, for the log


def turnstile_enabled() -> bool:
    return bool(settings.TURNSTILE_SITE_KEY and settings.TURNSTILE_SECRET_KEY)


def turnstile_local() -> bool:
    """The local trial's stand-in: DEBUG on and both keys Cloudflare's test keys."""
    return bool(
        settings.DEBUG
        and settings.TURNSTILE_SITE_KEY in TEST_SITE_KEYS
        and settings.TURNSTILE_SECRET_KEY in TEST_SECRET_CODES
    )


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
    if turnstile_local():
        # Answered as Cloudflare answers for its test secret, without leaving the machine.
        return _answer(
            {
                "success": not TEST_SECRET_CODES[settings.TURNSTILE_SECRET_KEY],
                "error-codes": list(TEST_SECRET_CODES[settings.TURNSTILE_SECRET_KEY]),
            }
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
    return _answer(answer)


def _answer(answer: object) -> TurnstileResult:
    """Cloudflare's siteverify answer (or the local stand-in's), in words."""
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
