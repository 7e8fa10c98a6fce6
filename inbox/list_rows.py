"""The rows of a conversation list, rendered in Python.

A list page shows 50 rows of a dozen values each; Django's template engine spent about a third
of the page's server time on them (resolving, escaping and localising every value through its
node tree). The markup is here instead, once; every value from the conversation goes through
`escape` (ids and counts are ints, rendered as they are).
"""

from html import escape

from django.templatetags.static import static
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from inbox.selectors.conversation_page import ConversationRow


def rows_html(rows: list[ConversationRow], *, view: str) -> SafeString:
    unread_title = escape(_("Unread for you"))
    unread = (
        f'<span class="unread-dot" title="{unread_title}"></span>'
        f'<span class="visually-hidden">{unread_title}.</span> '
    )
    # Strings to translate stay outside f-strings: makemessages does not see in them.
    has_attachments = _("Has attachments")
    clip = (
        f'<img class="icon" src="{escape(static("img/paperclip.svg"))}"'
        f' alt="{escape(has_attachments)}" width="14" height="14"> '
    )
    return mark_safe("".join([_row(row, view=view, unread=unread, clip=clip) for row in rows]))  # noqa: S308


def _row(row: ConversationRow, *, view: str, unread: str, clip: str) -> str:
    pk = int(row.id)
    count = (
        f' <span class="muted">({int(row.message_count)})</span>' if row.message_count > 1 else ""
    )
    snoozed = ""
    if row.snoozed_until and view == "snoozed":
        when = formats.date_format(timezone.localtime(row.snoozed_until), "SHORT_DATETIME_FORMAT")
        until = _("until %(when)s") % {"when": when}
        snoozed = f' · <span class="muted">{escape(until)}</span>'
    tags = "".join(
        f' <span class="tag tag-{escape(t.color)}">{escape(t.name)}</span>' for t in row.tags
    )
    return (
        f'<li class="conv-item{" conv-unread" if row.unread else ""}">'
        f'<input type="checkbox" class="conv-tick" name="ids" value="{pk}" form="bulk"'
        f' aria-labelledby="subject-{pk}">'
        f'<a class="conv-row" href="{escape(row.url)}" data-id="{pk}">'
        f'<span class="conv-who">{unread if row.unread else ""}{escape(row.who)}{count}</span>'
        f'<span class="conv-when"><time datetime="{escape(row.iso)}">{escape(str(row.age))}</time>'
        f"{snoozed}</span>"
        f'<span class="conv-subject" id="subject-{pk}">{clip if row.has_attachments else ""}'
        f"{escape(str(row.title))}{tags}</span>"
        f'<span class="conv-assignee muted">{escape(row.assignee)}</span>'
        f'<span class="conv-preview">{escape(row.snippet)}</span>'
        "</a></li>"
    )
