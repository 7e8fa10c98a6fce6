"""The messages of a conversation page (the `message` partial of inbox/conversation.html, whose
body is the Jinja2 partial jinja2/inbox/message.html)."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation

from inbox.mail.parsing.problems import (
    BAD_ADDRESSES,
    BAD_DATE,
    DUPLICATE_HEADER,
    IN_ATTACHMENT,
    INVALID_IN_CHARSET,
    NO_DATE,
    NO_MESSAGE_ID,
)
from inbox.selectors.conversation_page import MessageView

HOSTILE = "<script>alert(\"x\")</script> & 'Zoë'"
TRIAGE = "/inbox/c/5/triage/"
TOKEN = "t" * 64


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _message(**changes) -> MessageView:
    message = MessageView(
        id=42,
        direction="inbound",
        subject="Absence",
        sender={"name": "Karim Parent", "address": "Karim@Famille.fr"},
        to=[],
        cc=[],
        date=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        text="Bonjour,\nmon fils sera absent.",
        parse_problems=[],
        thread_reason="Reply (In-Reply-To)",
        attachments=[],
        has_html=False,
    )
    return replace(message, **changes)


def _render(message: MessageView, *, first: bool = False, trusted=()) -> str:
    # As the view gives it (end to end: test_inbox_collab::
    # test_the_page_says_a_trusted_senders_images_are_shown).
    entry = {
        "message": message,
        "first": first,
        "trusted": message.sender_address.lower() in trusted,
    }
    return get_template("inbox/conversation.html#message").render(
        {"entry": entry, "triage_url": TRIAGE, "csrf_token": TOKEN}
    )


def test_every_value_from_the_mail_is_escaped():
    html = _render(
        _message(
            sender={"name": HOSTILE, "address": HOSTILE},
            text=HOSTILE,
            parse_problems=[HOSTILE],
            attachments=[
                {"id": 1, "filename": HOSTILE, "content_id": "", "size": 10, "is_inline": False}
            ],
        )
    )
    assert "<script" not in html
    # The message is a Jinja2 partial: markupsafe writes ' and " as &#39; and &#34;.
    assert (
        html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") == 5
    )  # label, name, address, text, file; a stored problem is only shown in our own words
    assert "Part of the message is malformed." in html
    assert 'aria-label="Message from &lt;script&gt;' in html


def test_a_text_message_shows_its_text_and_an_html_one_a_sandboxed_frame():
    text = _render(_message())
    assert '<div class="message-body">Bonjour,\nmon fils sera absent.</div>' in text
    assert "<iframe" not in text
    framed = _render(_message(has_html=True))
    frame_url = reverse("message_html", args=[42])
    assert f'<iframe class="message-frame" name="mail-42" src="{frame_url}"' in framed
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in framed
    assert "message-body" not in framed


def test_every_message_but_the_first_can_be_split_off():
    assert "Split from here" not in _render(_message(), first=True)
    later = _render(_message(), first=False)
    assert f'<form method="post" action="{TRIAGE}"' in later
    assert f'name="csrfmiddlewaretoken" value="{TOKEN}"' in later
    assert '<input type="hidden" name="action" value="split">' in later
    assert '<input type="hidden" name="message" value="42">' in later


def test_remote_images_are_offered_or_blocked_again_by_sender():
    plain = _render(_message(has_html=True, has_remote_images=False))
    assert "message-images" not in plain
    blocked = _render(_message(has_html=True, has_remote_images=True))
    assert "Remote images are blocked" in blocked
    assert f'href="{reverse("message_html", args=[42])}?images=1" target="mail-42"' in blocked
    assert 'value="trust_sender"' in blocked
    shown = _render(_message(has_html=True, has_remote_images=True), trusted={"karim@famille.fr"})
    assert "Images from this sender are always shown." in shown
    assert 'value="distrust_sender"' in shown and "?images=1" not in shown


def test_attachments_are_listed_but_inline_images_are_not():
    parts = [
        {"id": 7, "filename": "bulletin.pdf", "content_id": "", "size": 123456},
        {"id": 8, "filename": "logo.png", "content_id": "logo", "size": 10},
        {"id": 9, "filename": "", "content_id": "", "size": 5},
    ]
    html = _render(_message(attachments=[{**a, "is_inline": a["id"] == 8} for a in parts]))
    download = reverse("attachment_download", args=[7])
    assert f'<a href="{download}?download=1" download>bulletin.pdf</a>' in html
    assert "120.6\xa0KB" in html
    assert "logo.png" not in html
    assert ">attachment</a>" in html


def test_no_attachment_list_when_every_part_is_inline():
    inline = {"id": 8, "filename": "logo.png", "content_id": "logo", "size": 10, "is_inline": True}
    assert "attachments" not in _render(_message(attachments=[inline]))


def test_french_is_spoken_by_default_pages():
    nameless = {"id": 9, "filename": "", "content_id": "", "size": 5, "is_inline": False}
    with translation.override("fr"):
        html = _render(
            _message(
                has_html=True,
                has_remote_images=True,
                parse_problems=[DUPLICATE_HEADER.format(name="From")],
                attachments=[nameless],
            )
        )
    assert "Les images distantes sont bloquées" in html
    assert "Afficher les images" in html and "Séparer à partir d’ici" in html
    assert "Ce message est endommagé" in html and ">pièce jointe</a>" in html
    assert "L’en-tête From apparaît plusieurs fois ; le premier a été retenu." in html
    assert "appears" not in html
    assert "1 mars 2026" in html


def test_the_damage_notice_is_wholly_in_the_readers_language():
    problems = [
        BAD_ADDRESSES.format(name="Cc"),
        INVALID_IN_CHARSET.format(where=IN_ATTACHMENT, label="utf-8"),
        NO_MESSAGE_ID,
    ]
    with translation.override("fr"):
        html = _render(_message(parse_problems=problems))
    notice = html.split('<p class="notice message-problem">')[1].split("</p>")[0]
    assert notice == (
        "Ce message est endommagé ; il est affiché du mieux possible."
        " Certaines adresses de l’en-tête Cc n’ont pas pu être lues et ont été ignorées."
        " Le texte dans une pièce jointe n’est pas du utf-8 valide ; son encodage a été deviné."
    )


def test_a_missing_message_id_or_date_is_no_damage_notice():
    for problems in ([NO_MESSAGE_ID], [NO_DATE], [NO_MESSAGE_ID, NO_DATE, BAD_DATE]):
        assert "message-problem" not in _render(_message(parse_problems=problems))
    assert "message-problem" in _render(_message(parse_problems=[NO_DATE, "Unknown"]))
