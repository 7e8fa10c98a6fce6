"""The composer's rich text on the server: hostile HTML and pastes from Word and Google Docs
cleaned by the sanitiser, images turned into cid: parts, and a faithful text alternative."""

import base64
import email
import re
from email import policy

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.mail import compose, rich_text
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.sending import outgoing_attachments, outgoing_content, outgoing_queue
from inbox.models import FolderRole, Message, Outgoing, OutgoingKind
from inbox.tasks import send_outgoing
from tests.mail import loopback_mailbox
from trupeo.storage import object_store, read_sealed

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
DATA_PNG = "data:image/png;base64," + base64.b64encode(PNG).decode()

WORD = (
    '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style>p.MsoNormal{margin:0}'
    "</style><!--[if gte mso 9]><xml><o:OfficeDocumentSettings></o:OfficeDocumentSettings></xml>"
    '<![endif]--></head><body lang=FR><p class=MsoNormal style="mso-margin-top-alt:auto">'
    '<b><span style="font-family:Calibri">Objet</span></b> : inscription<o:p></o:p></p>'
    '<p class=MsoListParagraph style="mso-list:l0 level1 lfo1"><![if !supportLists]>'
    "<span>·<span>&nbsp;&nbsp; </span></span><![endif]>pièce d’identité<o:p></o:p></p>"
    '<img src="file:///C:/Users/x/AppData/Local/Temp/msohtmlclip1/01/clip_image001.png"></body></html>'
)
GOOGLE_DOCS = (
    '<meta charset="utf-8"><b style="font-weight:normal;" id="docs-internal-guid-1a2b3c">'
    '<p dir="ltr" style="line-height:1.38"><span style="font-size:11pt;font-weight:700">Rentrée'
    '</span><span style="font-size:11pt"> le 2 septembre</span></p><ul><li dir="ltr">'
    '<p dir="ltr"><span>cahiers</span></p></li></ul></b>'
)


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src=x onerror="alert(1)">',
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">clic</a>',
        '<a href="data:text/html,<script>alert(1)</script>">clic</a>',
        '<svg onload="alert(1)"><circle/></svg>',
        '<iframe src="https://evil.example"></iframe>',
        '<p style="background:url(https://evil.example/t.png)">x</p>',
        '<img src="https://tracker.example/pixel.gif">',
        '<form action="https://evil.example"><input name="x"></form>',
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
        '<a href="/inbox/">relatif</a>',
    ],
)
def test_hostile_html_is_defused(hostile):
    cleaned = rich_text.clean_composed_html(hostile)
    lowered = cleaned.lower()
    for bad in (
        "javascript:",
        "onerror",
        "onload",
        "<script",
        "<svg",
        "<iframe",
        "style=",
        "<form",
    ):
        assert bad not in lowered
    assert "tracker.example" not in cleaned and "evil.example" not in cleaned
    assert "image/svg" not in cleaned and 'href="/inbox/"' not in cleaned


def test_a_word_paste_keeps_the_words_and_loses_the_office_markup():
    cleaned = rich_text.clean_composed_html(WORD)
    assert "<b><span>Objet</span></b> : inscription" in cleaned
    assert "pièce d’identité" in cleaned
    assert rich_text.html_to_text(cleaned).startswith("*Objet* : inscription")
    for junk in ("Mso", "mso-", "o:p", "OfficeDocumentSettings", "p.MsoNormal", "file:///", "<img"):
        assert junk not in cleaned


def test_a_google_docs_paste_is_not_all_bold():
    cleaned = rich_text.clean_composed_html(GOOGLE_DOCS)
    assert not cleaned.startswith("<b")
    assert "docs-internal-guid" not in cleaned and "font-size" not in cleaned
    text = rich_text.html_to_text(cleaned)
    assert text == "Rentrée le 2 septembre\n\n- cahiers"


def test_the_text_alternative_is_faithful():
    # As the editor writes it: a <p> per line, an empty one for a blank line.
    html = (
        "<p>Bonjour <strong>Madame</strong>,</p><p></p><p>Voici :</p><p>la liste</p>"
        '<ol><li>le <a href="https://lycee-verne.fr/dossier">dossier</a></li><li>la photo</li></ol>'
        "<blockquote><p>Votre message</p></blockquote><p>Écrivez à "
        '<a href="mailto:scolarite@lycee-verne.fr">scolarite@lycee-verne.fr</a></p>'
    )
    assert rich_text.html_to_text(html) == (
        "Bonjour *Madame*,\n\nVoici :\nla liste\n\n"
        "1. le dossier <https://lycee-verne.fr/dossier>\n2. la photo\n\n"
        "> Votre message\n\n"
        "Écrivez à scolarite@lycee-verne.fr"
    )


def test_images_become_one_cid_part_each_and_bad_ones_go():
    html = rich_text.clean_composed_html(
        f'<p><img src="{DATA_PNG}"> et encore <img src="{DATA_PNG}"></p>'
        '<p><img src="data:image/png;base64,!!!notbase64"></p>'
    )
    rewritten, images = rich_text.extract_inline_images(html)
    assert len(images) == 1 and images[0].data == PNG
    assert rewritten.count(f'src="cid:{images[0].token}@trupeo"') == 2
    assert "data:" not in rewritten


# --- through the composer and the MIME ---------------------------------------------------------


@pytest.fixture
def customer(workspace, dovecot, smtp_server) -> Message:
    user, password = dovecot.add_user("scolarite")
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    raw = (
        b"From: Sophie Martin <sophie.martin@exemple.fr>\r\nTo: scolarite@lycee-verne.fr\r\n"
        b"Subject: Inscription\r\nMessage-ID: <i-1@exemple.fr>\r\n"
        b"Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n\r\nBonjour\r\n"
    )
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    ingest_batch(mailbox=mailbox, folder=folder, mails=[RawMail(provider_key="1:1:1", raw=raw)])
    return Message.objects.get(mailbox=mailbox)


@pytest.mark.django_db(transaction=True)
def test_saving_twice_keeps_one_image_and_the_mime_is_related(alice_client, customer, monkeypatch):
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: None)
    alice_client.post(reverse("composer_open", args=[customer.conversation_id]), {"kind": "reply"})
    outgoing = Outgoing.objects.get(conversation_id=customer.conversation_id)
    posted = {
        "to": "sophie.martin@exemple.fr",
        "subject": "Re: Inscription",
        "body": "ignored: the server derives the text",
        "html": f'<p>Le <strong>plan</strong> :</p><p><img src="{DATA_PNG}" onerror="x()"></p>',
    }
    for _ in range(2):  # the autosave sends the editor's data: images every time
        alice_client.post(reverse("draft_save", args=[outgoing.pk]), posted)
    outgoing.refresh_from_db()
    content = outgoing_content(outgoing)
    [image] = [a for a in content["attachments"] if a.get("inline")]
    assert outgoing_attachments(outgoing) == []  # not listed as a file
    assert (
        read_sealed(image["key"], _keys(outgoing), field="outgoing.attachment", row=image["row"])
        == PNG
    )
    assert content["body"] == "Le *plan* :\n[image]"
    assert "onerror" not in content["html"] and "data:" not in content["html"]
    # The editor gets it back with the image inline (the only kind of source the CSP allows).
    page = alice_client.get(reverse("draft", args=[outgoing.pk])).content.decode()
    assert "data:image/png;base64," in page

    outgoing_queue(outgoing=outgoing)
    outgoing.refresh_from_db()
    raw = read_sealed(
        outgoing.raw_object, _keys(outgoing), field="outgoing.raw", row=f"outgoing:{outgoing.pk}"
    )
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, related = parsed.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, png = related.get_payload()
    cid = re.search(r'src="cid:([^"]+)"', html_part.get_content()).group(1)
    assert png["Content-ID"] == f"<{cid}>" and png.get_content() == PNG
    assert "> Bonjour" in plain.get_content()  # the quote, in both parts
    assert "<blockquote" in html_part.get_content()
    # Sent at once (no undo window here): the image lives on only inside the sealed MIME.
    assert not object_store().exists(image["key"])


def _keys(outgoing):
    from accounts.keys import keys_for

    return keys_for(outgoing.workspace)


def test_a_plain_message_stays_a_single_text_part(customer):
    msg = compose.compose_message(
        mailbox=customer.mailbox,
        kind=OutgoingKind.NEW,
        to=[{"name": "", "address": "a@exemple.fr"}],
        subject="x",
        body="Bonjour",
        message_id="<x@lycee-verne.fr>",
        date=timezone.now(),
    )
    assert msg.get_content_type() == "text/plain"


@pytest.mark.django_db(transaction=True)
def test_the_quote_is_collapsed_and_sent_as_edited(alice_client, customer, monkeypatch):
    monkeypatch.setattr(send_outgoing, "apply_async", lambda *a, **kw: None)
    html = alice_client.post(
        reverse("composer_open", args=[customer.conversation_id]),
        {"kind": "reply"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert '<details class="composer-quote">' in html  # collapsed until opened
    assert re.search(r'<textarea id="composer-quote" name="quote"[^>]*>Bonjour', html)
    outgoing = Outgoing.objects.get(conversation_id=customer.conversation_id)
    seen = re.search(r'name="seen" value="([^"]+)"', html).group(1)
    alice_client.post(
        reverse("draft_send", args=[outgoing.pk]),
        {
            "to": "sophie.martin@exemple.fr",
            "subject": "Re: Inscription",
            "html": "<p>Voici la réponse.</p>",
            "quote": "Bonjour (raccourci par l’agent)",
            "seen": seen,
        },
    )
    outgoing.refresh_from_db()
    raw = read_sealed(
        outgoing.raw_object, _keys(outgoing), field="outgoing.raw", row=f"outgoing:{outgoing.pk}"
    )
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert "> Bonjour (raccourci par l’agent)" in parsed.get_body(("plain",)).get_content()
    assert "raccourci par l’agent" in parsed.get_body(("html",)).get_content()


def test_an_html_signature_has_its_markup_in_html_and_its_text_in_text(customer):
    signature = (
        '<p><strong>Claire Dubois</strong><br>Scolarité · <a href="https://lycee-verne.fr">'
        "lycee-verne.fr</a></p><script>alert(1)</script>"
    )
    msg = compose.compose_message(
        mailbox=customer.mailbox,
        kind=OutgoingKind.NEW,
        to=[{"name": "", "address": "a@exemple.fr"}],
        subject="x",
        body="Bonjour",
        signature=signature,
        message_id="<x@lycee-verne.fr>",
        date=timezone.now(),
        html_body="<p>Bonjour</p>",
    )
    text = msg.get_body(("plain",)).get_content()
    assert "-- \n*Claire Dubois*\nScolarité · lycee-verne.fr <https://lycee-verne.fr>" in text
    html = msg.get_body(("html",)).get_content()
    assert "<strong>Claire Dubois</strong>" in html and "<script" not in html


@pytest.mark.django_db(transaction=True)
def test_a_large_pasted_screenshot_is_saved_and_an_oversized_one_is_refused_in_words(
    alice_client, customer
):
    alice_client.post(reverse("composer_open", args=[customer.conversation_id]), {"kind": "reply"})
    outgoing = Outgoing.objects.get(conversation_id=customer.conversation_id)
    screenshot = PNG + bytes(3 * 1024 * 1024)  # a 3 MB screenshot: 4 MB once in base64
    data = "data:image/png;base64," + base64.b64encode(screenshot).decode()
    response = alice_client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {
            "to": "sophie.martin@exemple.fr",
            "subject": "Re",
            "html": f'<p>Vue :</p><img src="{data}">',
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    outgoing.refresh_from_db()
    [image] = [a for a in outgoing_content(outgoing)["attachments"] if a.get("inline")]
    assert image["size"] == len(screenshot)
    # Beyond what a form may carry: a 400 in words, never a 5xx, and the draft as it was.
    huge = "data:image/png;base64," + "A" * (13 * 1024 * 1024)
    response = alice_client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {"to": "x@exemple.fr", "html": f'<img src="{huge}">'},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    outgoing.refresh_from_db()
    assert outgoing_content(outgoing)["to"][0]["address"] == "sophie.martin@exemple.fr"
