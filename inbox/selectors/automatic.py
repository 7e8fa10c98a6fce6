"""What automatic mail to requesters says: the acknowledgement's texts and their variables.

Variables are replaced by a small explicit substitution (like saved replies), never by a
template engine: the texts are typed by admins. A line whose variable has no value (no portal,
no expected reply time, a requester without a name) is left out, or the variable dropped
from the line when other words remain.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.keys import keys_for
from inbox.mail.sealing import mailbox_row, open_json
from inbox.models import Conversation, Mailbox

LANGUAGES = ("fr", "en")

VARIABLES = {
    "name": gettext_lazy("the requester's name"),
    "reference": gettext_lazy("the conversation's reference"),
    "expected_reply_time": gettext_lazy("the expected reply time"),
    "portal_link": gettext_lazy("the link to the requester portal"),
}

_VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
MAX_NAME = 80


def default_acknowledgement(language: str) -> str:
    with translation.override(language):
        return "\n".join(
            [
                _("Hello {{ name }},"),
                "",
                _(
                    "We have received your message and filed it under the reference "
                    "{{ reference }}."
                ),
                _("We usually reply within {{ expected_reply_time }}."),
                _("You can follow your request here: {{ portal_link }}"),
                "",
                _("This is an automatic message: there is no need to reply to it."),
            ]
        )


def acknowledgement_texts(mailbox: Mailbox) -> dict[str, str]:
    """The acknowledgement in each language, as the admins wrote it or the default."""
    stored: dict = {}
    if mailbox.auto_templates_sealed:
        stored = open_json(
            keys_for(mailbox.workspace),
            mailbox.auto_templates_sealed,
            field="mailbox.auto_templates",
            row=mailbox_row(mailbox.pk),
        )
    return {
        language: (stored.get(language) or "").strip() or default_acknowledgement(language)
        for language in LANGUAGES
    }


def unknown_variables(text: str) -> list[str]:
    names: list[str] = []
    for name in _VARIABLE.findall(text or ""):
        if name not in VARIABLES and name not in names:
            names.append(name)
    return names


def is_out_of_hours(mailbox: Mailbox, at: datetime) -> bool:
    """Whether `at` is outside the mailbox's business hours. The business calendar (the sla
    app) answers this once it is wired in; until then every moment counts as open."""
    return False


def portal_link(mailbox: Mailbox) -> str:
    """The requester portal's address, when the mailbox offers it ("" otherwise)."""
    enabled = getattr(mailbox, "portal_enabled", None)  # the portal's own switch, where it exists
    if enabled is None:
        enabled = mailbox.auto_portal_link
    if not enabled:
        return ""
    return f"{settings.SITE_URL}/p/{mailbox.workspace.slug}/"


def expected_reply_time(mailbox: Mailbox, language: str) -> str:
    hours = mailbox.expected_reply_hours
    if not hours:
        return ""
    with translation.override(language):
        if hours % 24 == 0:
            days = hours // 24
            return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def reference(conversation: Conversation) -> str:
    return f"#{conversation.pk}"


def safe_name(name: str) -> str:
    """A requester's name as it may appear in a text: one line, no control characters."""
    return " ".join(_CONTROL.sub(" ", name or "").split())[:MAX_NAME]


def render_text(text: str, values: dict[str, str]) -> str:
    """Replace the variables; a line left without any word of its own by an empty one goes."""
    lines = []
    for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        names = _VARIABLE.findall(line)
        empty = [n for n in names if n in VARIABLES and not values.get(n)]
        if empty and not _VARIABLE.sub("", line).strip(" \t,.:;!?"):
            continue
        if any(n in ("expected_reply_time", "portal_link") for n in empty):
            continue  # a sentence about a missing time or link says nothing true
        rendered = _VARIABLE.sub(
            lambda m: values.get(m.group(1), "") if m.group(1) in VARIABLES else m.group(0), line
        )
        # "Bonjour ," when the name is empty: the space before the punctuation goes too.
        rendered = re.sub(r"[ \t]+([,.!?;:])", r"\1", rendered) if empty else rendered
        lines.append(rendered)
    return "\n".join(lines).strip("\n") + "\n"


def acknowledgement_language(mailbox: Mailbox, hinted: str) -> str:
    return hinted if hinted in LANGUAGES else mailbox.auto_language or "fr"
