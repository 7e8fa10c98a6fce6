"""The rows of a conversation list (the `rows` partial of inbox/list.html, whose rows are the
Jinja2 partial jinja2/inbox/rows.html)."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.template.loader import get_template
from django.utils import translation

from inbox.selectors.conversation_rows import ConversationRow

HOSTILE = '<script>alert("x")</script> & \'Zoë\' "><img src=x onerror=alert(1)>'
# As markupsafe escapes (Jinja2): &#34; and &#39; where Django writes &quot; and &#x27;.
ESCAPED = (
    "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;Zoë&#39;"
    " &#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
)
WHEN = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)


def _row(**changes) -> ConversationRow:
    values = {
        "id": 1234567,
        "subject": "Absence de Léo",
        "name": "Karim Parent",
        "address": "karim@famille.fr",
        "snippet": "Bonjour, mon fils sera absent.",
        "status": "open",
        "status_label": "Open",
        "assignee": "",
        "last_message_at": WHEN,
        "message_count": 1,
        "has_attachments": False,
        "url": "/inbox/c/1234567/",
        "age": "il y a 3 heures",
    }
    return ConversationRow(**{**values, **changes})


def _render(rows, *, view: str = "open") -> str:
    return get_template("inbox/list.html#rows").render(
        {"rows": rows, "view": view, "next_cursor": ""}
    )


def test_every_value_a_sender_or_teammate_chose_is_escaped():
    hostile = _row(
        subject=HOSTILE,
        name=HOSTILE,
        snippet=HOSTILE,
        assignee=HOSTILE,
        url=HOSTILE,
        age=HOSTILE,
        tags=(SimpleNamespace(color=HOSTILE, name=HOSTILE),),
    )
    html = _render([hostile])
    assert "<script" not in html and "<img src=x" not in html
    # subject, who, preview, assignee, link, age, tag colour and tag name
    assert html.count(ESCAPED) == 8


def test_ids_and_counts_are_plain_numbers_in_french():
    with translation.override("fr"):
        html = _render([_row(message_count=1234, unread=True)])
    assert 'value="1234567"' in html and 'data-id="1234567"' in html
    assert 'id="subject-1234567"' in html and "(1234)" in html
    assert 'title="Non lue pour vous"' in html


def test_a_lone_message_has_no_count_and_no_clip():
    html = _render([_row()])
    assert 'muted">(' not in html and "paperclip" not in html and "conv-unread" not in html
    assert "(2)" in _render([_row(message_count=2, has_attachments=True)])


@pytest.mark.parametrize(("view", "shown"), [("snoozed", True), ("open", False), ("", False)])
def test_the_snooze_end_is_shown_in_the_snoozed_view_only(view, shown):
    with translation.override("fr"):
        html = _render([_row(snoozed_until=WHEN)], view=view)
    assert ("jusqu’au 01/03/2026 13:05" in html) is shown


def test_rows_follow_each_other_without_whitespace():
    html = _render([_row(id=1), _row(id=2)]).strip()
    assert html.count("<li") == 2 and "</li><li" in html
