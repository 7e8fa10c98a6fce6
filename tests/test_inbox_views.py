"""The inbox list and the conversation page: decrypted for members, constant query counts."""

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation
from tests.mail import french_message


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")


def _ingest(mailbox, count, start=0):
    folder = mailbox.folders.get(role="inbox")
    mails = [
        # Arrived now: mail older than the mailbox's connection would be filed as history.
        RawMail(
            provider_key=f"{folder.pk}:1:{n}", raw=french_message(n), received_at=timezone.now()
        )
        for n in range(start, start + count)
    ]
    ingest_batch(mailbox=mailbox, folder=folder, mails=mails)


def test_list_shows_decrypted_rows(alice_client, mailbox):
    _ingest(mailbox, 3)
    page = alice_client.get(reverse("inbox")).content.decode()
    assert "Absence n°2 — élève de 2nde" in page
    assert "parent1@famille.fr" in page or "Karim Parent1" in page


def test_list_query_count_does_not_grow_with_rows(
    alice_client, mailbox, django_assert_max_num_queries
):
    _ingest(mailbox, 2)
    with django_assert_max_num_queries(12) as few:
        alice_client.get(reverse("inbox"))
    _ingest(mailbox, 40, start=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        alice_client.get(reverse("inbox"))


def test_keyset_pagination_walks_every_conversation_once(alice_client, mailbox, monkeypatch):
    monkeypatch.setattr("inbox.selectors.conversation_list.PAGE_SIZE", 7)
    _ingest(mailbox, 20)
    seen, url = [], reverse("inbox")
    for _page in range(10):
        response = alice_client.get(url)
        rows = response.context["rows"]
        seen += [row.id for row in rows]
        if not response.context["next_cursor"]:
            break
        url = reverse("inbox") + "?view=open&after=" + response.context["next_cursor"]
    assert sorted(seen) == sorted(Conversation.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 20


def test_conversation_page_decrypts_its_messages(bob_client, mailbox):
    _ingest(mailbox, 1)
    conversation = Conversation.objects.get()
    page = bob_client.get(reverse("conversation", args=[conversation.pk])).content.decode()
    assert "Mon enfant sera absent(e) demain" in page
    assert "MessageView(" not in page  # mail objects never leak into the toasts


def test_unknown_view_is_a_404(alice_client, mailbox):
    assert alice_client.get(reverse("inbox") + "?view=nope").status_code == 404


def test_attachment_download_decrypts_with_a_safe_disposition(alice_client, mailbox):
    from inbox.models import Attachment

    raw = (Path(__file__).parent / "fixtures" / "eml" / "rfc2231_french_filename.eml").read_bytes()
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(mailbox=mailbox, folder=folder, mails=[RawMail(provider_key="x:1:1", raw=raw)])
    attachment = Attachment.objects.get(is_inline=False)
    response = alice_client.get(
        reverse("attachment_download", args=[attachment.pk]) + "?download=1"
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert len(body) == attachment.size
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith(
        "attachment; filename*=utf-8''Compte-rendu%20r%C3%A9union.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"


def test_mail_html_is_framed_with_its_own_csp_and_inline_images(alice_client, mailbox):
    from inbox.models import Attachment, Message

    raw = (
        Path(__file__).parent / "fixtures" / "eml" / "fr_newsletter_html_only_cid_image.eml"
    ).read_bytes()
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(mailbox=mailbox, folder=folder, mails=[RawMail(provider_key="x:1:2", raw=raw)])
    message = Message.objects.get()
    image = Attachment.objects.get(message=message, is_inline=True)
    response = alice_client.get(reverse("message_html", args=[message.pk]))
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "img-src 'self' data:" in csp and "sandbox" in csp and "script-src" not in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert f'src="{reverse("attachment_download", args=[image.pk])}"' in html
    assert "cid:" not in html and "<script" not in html.lower()
    page = alice_client.get(
        reverse("conversation", args=[message.conversation_id])
    ).content.decode()
    assert f'src="{reverse("message_html", args=[message.pk])}"' in page


def test_list_rows_escape_what_senders_and_teammates_wrote(alice, alice_client, mailbox):
    # Every value a sender or a teammate chose comes out of the rows (the `rows` partial of
    # inbox/list.html) as text, never as markup.
    from email.message import EmailMessage

    from inbox.actions.tags import conversation_tag_add, tag_create

    msg = EmailMessage()
    msg["From"] = '"<b>Eve</b>" <eve@example.org>'
    msg["To"] = "scolarite@lycee-verne.fr"
    msg["Subject"] = "<script>alert('sujet')</script>"
    msg.set_content("<img src=x onerror=alert(1)> aperçu")
    folder = mailbox.folders.get(role="inbox")
    raw = RawMail(provider_key=f"{folder.pk}:1:1", raw=msg.as_bytes(), received_at=timezone.now())
    ingest_batch(mailbox=mailbox, folder=folder, mails=[raw])
    conversation = Conversation.objects.get(mailbox=mailbox)
    tag = tag_create(workspace=mailbox.workspace, name='"><i>tag</i>')
    conversation_tag_add(conversation=conversation, tag=tag, actor=alice)
    page = alice_client.get(reverse("inbox")).content.decode()
    # The rows are a Jinja2 partial: markupsafe writes ' and " as &#39; and &#34;.
    assert "&lt;script&gt;alert(&#39;sujet&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt; aperçu" in page
    assert "&#34;&gt;&lt;i&gt;tag&lt;/i&gt;" in page
    for raw_markup in ("<script>alert", "<b>Eve", "<img src=x", "<i>tag"):
        assert raw_markup not in page
