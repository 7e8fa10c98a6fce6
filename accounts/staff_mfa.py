"""A staff account's first second factor needs more than its password.

Whoever knows only the password of a staff account that has no authenticator yet could
enrol their own and open the admin. So before the first enrolment, the person proves they
read the staff address: a 6-digit code mailed there (10 minutes, single use, 5 guesses,
3 mails an hour), compared in constant time. The proof holds 15 minutes, in this session.
"""

import secrets
import time

from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from trupeo.cache import count_in_window

CODE_SECONDS = 10 * 60
CODE_GUESSES = 5
MAILS_PER_HOUR = 3
PROOF_SECONDS = 15 * 60
_SALT = "trupeo.staff-mfa-enrolment"
_SESSION_KEY = "staff_mfa_proof"


def enrolment_needs_proof(user: User) -> bool:
    """A staff account without TOTP: its first enrolment is guarded."""
    return bool(
        user.is_authenticated
        and user.is_staff
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    )


def enrolment_proven(request: HttpRequest) -> bool:
    proof = request.session.get(_SESSION_KEY) or {}
    return proof.get("user") == request.user.pk and proof.get("until", 0) > time.time()


def _digest(user: User, code: str) -> str:
    # Bound to the account: a code mailed to one staff member is worth nothing for another.
    return salted_hmac(_SALT, f"{user.pk}:{code}", algorithm="sha256").hexdigest()


def _code_key(user: User) -> str:
    return f"staff-mfa:code:{user.pk}"


def _guesses_key(user: User) -> str:
    return f"staff-mfa:guesses:{user.pk}"


def enrolment_code_send(*, user: User) -> bool:
    """Mail a fresh code to the staff address (the previous one stops working).

    False, and nothing mailed, once the hourly limit is reached.
    """
    if count_in_window(f"staff-mfa:mails:{user.pk}", 3600) > MAILS_PER_HOUR:
        return False
    code = f"{secrets.randbelow(10**6):06d}"
    # The deadline travels with the digest: it holds even where the cache keeps it longer.
    entry = {"digest": _digest(user, code), "until": time.time() + CODE_SECONDS}
    cache.set(_code_key(user), entry, timeout=CODE_SECONDS)
    cache.delete(_guesses_key(user))
    context = {"code": code, "minutes": CODE_SECONDS // 60, "user": user}
    with translation.override(user.language):
        subject = render_to_string("accounts/email/staff_mfa_code_subject.txt", context).strip()
        body = render_to_string("accounts/email/staff_mfa_code_message.txt", context)
    send_mail(subject, body, None, [user.email])
    return True


def enrolment_code_check(*, request: HttpRequest, code: str) -> bool:
    """Whether `code` is the one mailed to this staff account; if so, the session is proven.

    A code works once; after CODE_GUESSES wrong guesses it stops working altogether.
    """
    user = request.user
    entry = cache.get(_code_key(user))
    if entry is None or entry["until"] <= time.time():
        return False
    if count_in_window(_guesses_key(user), CODE_SECONDS) > CODE_GUESSES:
        cache.delete(_code_key(user))
        return False
    if not constant_time_compare(_digest(user, code.strip()), entry["digest"]):
        return False
    cache.delete_many([_code_key(user), _guesses_key(user)])
    request.session[_SESSION_KEY] = {"user": user.pk, "until": time.time() + PROOF_SECONDS}
    return True


def code_is_live(user: User) -> bool:
    entry = cache.get(_code_key(user))
    return entry is not None and entry["until"] > time.time()
