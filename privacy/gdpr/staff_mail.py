"""Mail to Trupeo's staff (the operator): GDPR requests, their deadlines, the breach register.

An alert counts as sent only when the mail server took it for at least one staff address:
with nobody to write to, or a mail server that refuses, the caller leaves its "sent" mark
empty and the next beat run tries again. Never a silent success.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from accounts.models import User

logger = logging.getLogger(__name__)


def staff_emails() -> list[str]:
    """Active staff accounts with an address, plus TRUPEO_STAFF_EMAILS (a shared DPO box)."""
    accounts = (
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )
    return sorted({e.strip().lower() for e in [*accounts, *settings.TRUPEO_STAFF_EMAILS] if e})


def staff_mail_send(*, template: str, context: dict, what: str) -> list[str]:
    """Render `<template>_subject.txt` / `_message.txt` and send them to staff.

    The addresses it went to; empty (and logged, with `what`) when there was nobody to tell
    or the mail server failed.
    """
    recipients = staff_emails()
    if not recipients:
        logger.error("%s: no staff address to tell (set TRUPEO_STAFF_EMAILS)", what)
        return []
    # Staff read the admin in French unless told otherwise: one language for the whole team.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}_message.txt", context)
    try:
        sent = EmailMessage(subject, body, None, recipients).send()
    except Exception:  # SMTP, network or provider error: the next beat run tries again
        logger.exception("%s: the mail to staff could not be sent", what)
        return []
    return recipients if sent else []
