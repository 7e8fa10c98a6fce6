"""Mail the portal sends to people: a sign-in link, "your erasure is done", a notice to admins.

Through Django's mail backend (the transactional path of invitations and notifications), from
DEFAULT_FROM_EMAIL, marked `Auto-Submitted: auto-generated` (RFC 3834) so that no
auto-responder answers it. Rendered from templates in the language given.
"""

import logging

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger(__name__)

AUTO = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


def portal_mail_send(*, template: str, context: dict, to: list[str], language: str) -> bool:
    """Render `portal/email/<template>_subject.txt` / `_message.txt` and send it; False (logged,
    with no address) when the mail server refused."""
    if not to:
        return False
    with translation.override(language):
        subject = " ".join(
            render_to_string(f"portal/email/{template}_subject.txt", context).split()
        )
        body = render_to_string(f"portal/email/{template}_message.txt", context)
    try:
        return bool(EmailMessage(subject, body, None, to, headers=AUTO).send())
    except Exception:  # SMTP or network: the caller leaves its "sent" mark empty
        logger.exception("portal mail %s could not be sent", template)
        return False
