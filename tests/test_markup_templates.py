"""The templates give exactly what the Python string builders gave (kept until they go)."""

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.template.loader import get_template
from django.utils import timezone, translation

from inbox.list_rows import rows_html
from inbox.mail.parsing.problems import BAD_ADDRESSES, DUPLICATE_HEADER, NO_MESSAGE_ID
from inbox.message_sections import Sections
from inbox.presenters import ConversationRow, MessageView

HOSTILE = '<script>alert("x")</script> & \'Zoë\' "><img src=x onerror=alert(1)>'
TRIAGE = "/inbox/c/5/triage/"
TOKEN = "t" * 64
WHEN = datetime(2026, 3, 1, 12, 5, 7, 123456, tzinfo=UTC)


def _row(i: int, *, hostile: bool, unread: bool, count: int, clip: bool, snoozed: bool, tags):
    text = HOSTILE if hostile else "Absence de Léo"
    return ConversationRow(
        id=1_000_000 + i,
        subject="" if i % 3 == 0 else text,
        name="" if i % 2 else text,
        address=f"{text}@example.org",
        snippet=text,
        status="open",
        status_label="Open",
        assignee=text if i % 4 else "",
        last_message_at=WHEN,
        message_count=count,
        has_attachments=clip,
        tags=tags,
        unread=unread,
        snoozed_until=WHEN if snoozed else None,
        url=f"/inbox/c/{1_000_000 + i}/",
        age="il y a 3 heures" if i % 2 else "3 hours ago",
    )


def _rows() -> list[ConversationRow]:
    tag_sets = [
        (),
        (SimpleNamespace(color="blue", name="urgent"),),
        (SimpleNamespace(color=HOSTILE, name=HOSTILE), SimpleNamespace(color="red", name="é&")),
    ]
    combos = itertools.product([False, True], [False, True], [1, 3], [False, True], [False, True])
    return [
        _row(i, hostile=h, unread=u, count=c, clip=a, snoozed=s, tags=tag_sets[i % 3])
        for i, (h, u, c, a, s) in enumerate(combos)
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
@pytest.mark.parametrize("view", ["open", "snoozed", ""])
def test_list_rows_template_gives_what_python_gave(language, zone, view):
    rows = _rows()
    with translation.override(language), timezone.override(zone):
        old = str(rows_html(rows, view=view))
        new = get_template("inbox/list.html#rows").render(
            {"rows": rows, "view": view, "next_cursor": ""}
        )
    assert "<script" not in new
    assert new.strip() == old


def _message(i: int, **changes) -> MessageView:
    message = MessageView(
        id=40 + i,
        direction="inbound" if i % 2 else "outbound",
        subject="Absence",
        sender={"name": "Karim Parent", "address": "Karim@Famille.fr"},
        to=[],
        cc=[],
        date=WHEN,
        text="Bonjour,\nmon fils sera absent.",
        parse_problems=[],
        thread_reason="Reply (In-Reply-To)",
        attachments=[],
        has_html=False,
    )
    return replace(message, **changes)


def _messages() -> list[MessageView]:
    senders = [
        {"name": "Karim Parent", "address": "Karim@Famille.fr"},
        {"name": "", "address": HOSTILE},
        {"address": "nom@example.org"},
        {},
        {"name": HOSTILE, "address": HOSTILE},
    ]
    problems = [
        [],
        [NO_MESSAGE_ID],
        [HOSTILE],
        [DUPLICATE_HEADER.format(name="From"), BAD_ADDRESSES.format(name="Cc")],
    ]
    files = [
        [],
        [{"id": 8, "filename": "logo.png", "content_id": "logo", "size": 10, "is_inline": True}],
        [
            {"id": 7, "filename": HOSTILE, "content_id": "", "size": 123456, "is_inline": False},
            {"id": 9, "filename": "", "content_id": "", "size": 5, "is_inline": False},
            {
                "id": 10,
                "filename": "bulletin.pdf",
                "content_id": "",
                "size": 3 * 10**9,
                "is_inline": False,
            },
        ],
    ]
    messages = []
    combos = itertools.product(range(5), range(4), range(3), [False, True], [False, True])
    for i, (s, p, f, html, images) in enumerate(combos):
        messages.append(
            _message(
                i,
                sender=senders[s],
                parse_problems=problems[p],
                attachments=files[f],
                has_html=html,
                has_remote_images=images,
                text=HOSTILE if i % 2 else "Bonjour,\nmon fils sera absent.",
                thread_reason=HOSTILE if i % 3 == 0 else "Reply (In-Reply-To)",
            )
        )
    return messages


@pytest.mark.parametrize("language", ["fr", "en"])
def test_message_sections_template_gives_what_python_gave(language):
    template = get_template("inbox/conversation.html#message")
    checked = 0
    for trusted in (set(), {"karim@famille.fr", HOSTILE.lower()}):
        sections = Sections(triage_url=TRIAGE, csrf_token=TOKEN, trusted=trusted)
        for m in _messages():
            for first in (True, False):
                with translation.override(language):
                    old = str(sections.render(m, first=first))
                    entry = {
                        "message": m,
                        "first": first,
                        "trusted": m.sender_address.lower() in trusted,
                    }
                    new = template.render(
                        {"entry": entry, "triage_url": TRIAGE, "csrf_token": TOKEN}
                    )
                assert new == old
                checked += 1
    assert checked == 2 * 240 * 2


def test_message_frame_template_gives_what_the_f_string_gave():
    html = '<p>Bonjour & <a href="https://example.org/?a=1&amp;b=2">lien</a> — été</p>'
    old = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><base target="_blank"></head>'
        f"<body>{html}</body></html>"
    )
    assert get_template("inbox/message_frame.html").render({"html": html}) == old
