"""An SMTP server's refusal in words: what its reply code means for the person who wrote.

Servers answer "550 5.1.1 <x@y>: Recipient address rejected"; the enhanced status code
(RFC 3463, "class.subject.detail") says why in a way that does not depend on the server's
wording or language, and the basic code is the fallback when a server gives none.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


def _by_enhanced_code() -> dict[str, str]:
    return {
        "1.1": _("the recipient's address does not exist"),
        "1.2": _("the recipient's domain does not exist or receives no mail"),
        "1.3": _("the recipient's address is not valid"),
        "1.10": _("the recipient's domain receives no mail"),
        "2.1": _("the recipient's mailbox is disabled"),
        "2.2": _("the recipient's mailbox is full"),
        "2.3": _("the message is too big for the recipient"),
        "3.4": _("the message is too big for the server"),
        "5.3": _("the message has too many recipients"),
        "7.1": _("the server's policy does not allow it (sender not allowed, or taken for spam)"),
        "7.8": _("the mailbox's SMTP login was refused"),
        "7.23": _("the sending address failed the domain's checks (SPF, DKIM or DMARC)"),
        "7.25": _("the sending address failed the domain's checks (SPF, DKIM or DMARC)"),
        "7.26": _("the sending address failed the domain's checks (SPF, DKIM or DMARC)"),
        "7.27": _("the sending address failed the domain's checks (SPF, DKIM or DMARC)"),
    }


def _by_basic_code() -> dict[int, str]:
    return {
        550: _("the mailbox is unavailable or the server's policy does not allow it"),
        551: _("the recipient is not on this server"),
        552: _("the message is too big or the mailbox is full"),
        553: _("the address is not allowed"),
        554: _("the server refused the message"),
        555: _("the server did not accept the sending options"),
        530: _("the server asks for a login"),
        535: _("the mailbox's SMTP login was refused"),
    }


def refusal_in_words(code: int, reply: str) -> str:
    """Why a 5xx refused the message, as a phrase ("the recipient's mailbox is full")."""
    match = _ENHANCED.match(reply or "")
    if match and match.group(1) == "5":
        phrase = _by_enhanced_code().get(f"{int(match.group(2))}.{int(match.group(3))}")
        if phrase:
            return phrase
    return _by_basic_code().get(code, _("the server refused the message"))
