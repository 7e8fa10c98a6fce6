"""What automatic mail to requesters says: the acknowledgement's texts and their variables.

Variables are replaced by a small explicit substitution (like saved replies), never by a
template engine: the texts are typed by admins. A line whose variable has no value (no portal,
no expected reply time, a requester without a name) is left out, or the variable dropped
from the line when other words remain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, translation
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


def default_acknowledgement(
    language: str, *, reply_by_date: bool = False, out_of_hours: bool = False
) -> str:
    """The built-in text. With a reply-time goal the expected reply time is a moment ("by
    Monday 7 December at 13:00"), else a duration; out of hours, one more sentence says so."""
    with translation.override(language):
        closed = [out_of_hours_sentence(language)] if out_of_hours else []
        if reply_by_date:
            when = _("We will reply to you by {{ expected_reply_time }}.")
        else:
            when = _("We usually reply within {{ expected_reply_time }}.")
        return "\n".join(
            [
                _("Hello {{ name }},"),
                "",
                _(
                    "We have received your message and filed it under the reference "
                    "{{ reference }}."
                ),
                *closed,
                when,
                _("You can follow your request here: {{ portal_link }}"),
                "",
                _("This is an automatic message: there is no need to reply to it."),
            ]
        )


def out_of_hours_sentence(language: str) -> str:
    with translation.override(language):
        return _(
            "Our team is away at the moment (outside business hours): we will read your "
            "message as soon as we are back."
        )


def acknowledgement_texts(
    mailbox: Mailbox, *, reply_by_date: bool = False, out_of_hours: bool = False
) -> dict[str, str]:
    """The acknowledgement in each language, as the admins wrote it or the default. Out of
    hours, an admin's own text gets the out-of-hours sentence as its last paragraph."""
    stored: dict = {}
    if mailbox.auto_templates_sealed:
        stored = open_json(
            keys_for(mailbox.workspace),
            mailbox.auto_templates_sealed,
            field="mailbox.auto_templates",
            row=mailbox_row(mailbox.pk),
        )
    texts = {}
    for language in LANGUAGES:
        own = (stored.get(language) or "").strip()
        if not own:
            texts[language] = default_acknowledgement(
                language, reply_by_date=reply_by_date, out_of_hours=out_of_hours
            )
        elif out_of_hours:
            texts[language] = f"{own}\n\n{out_of_hours_sentence(language)}"
        else:
            texts[language] = own
    return texts


def unknown_variables(text: str) -> list[str]:
    names: list[str] = []
    for name in _VARIABLE.findall(text or ""):
        if name not in VARIABLES and name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class BusinessHours:
    """What the business calendar tells acknowledgements. The sla app provides it from its
    `ready()` (sla imports inbox, so inbox cannot import sla)."""

    is_open: Callable[[Mailbox, datetime], bool]  # sla.calendars.mailbox_is_open
    reply_by: Callable[[Mailbox, datetime], datetime | None]  # sla.calendars.expected_reply_at
    time_zone: Callable[[Mailbox], str]  # the calendar's zone, to write the moment in


_providers: list[BusinessHours] = []


def business_hours_provide(provider: BusinessHours) -> None:
    """Idempotent: the last provider wins (`ready()` may run twice)."""
    _providers[:] = [provider]


def business_hours() -> BusinessHours | None:
    return _providers[0] if _providers else None


def is_out_of_hours(mailbox: Mailbox, at: datetime) -> bool:
    """Whether `at` is outside the mailbox's business hours (always open without a calendar)."""
    provider = business_hours()
    return provider is not None and not provider.is_open(mailbox, at)


def expected_reply_by(mailbox: Mailbox, received_at: datetime) -> datetime | None:
    """The first-reply deadline by the mailbox's goal in its business hours (None: no goal)."""
    provider = business_hours()
    return provider.reply_by(mailbox, received_at) if provider is not None else None


def reply_by_text(mailbox: Mailbox, at: datetime, language: str) -> str:
    """ "lundi 7 décembre à 13:00", in the calendar's time zone."""
    provider = business_hours()
    zone = ZoneInfo(provider.time_zone(mailbox)) if provider is not None else None
    local = at.astimezone(zone) if zone else at
    with translation.override(language):
        day = formats.date_format(local, "l j F")
        # French writes weekdays and months in lower case (some catalogues capitalise them).
        day = day.lower() if language == "fr" else day
        return _("%(day)s at %(time)s") % {
            "day": day,
            "time": formats.time_format(local, "H:i"),
        }


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
