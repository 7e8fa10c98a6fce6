"""The inbox benchmark's generator, at tiny scale: what it writes opens with the workspace key,
carries exactly the blind tokens ingestion would compute, and is found by the real search.

So the benchmark cannot silently measure rows the application would never produce.
"""

from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.keys import keys_for
from bench.inbox_data import TWENTY, generate
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sealing import (
    note_row,
    open_json,
    stored_attachment_row,
    stored_message_row,
)
from inbox.mail.search import message_tokens
from inbox.mail.threads import subject_token
from inbox.models import Attachment, Conversation, ConversationTag, Message, Note
from inbox.selectors.conversation_rows import conversation_summary
from inbox.selectors.tags import tag_name


@pytest.fixture
def generated(workspace, alice, bob):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    other = mailbox_create(workspace=workspace, address="intendance@lycee-verne.fr")
    result = generate(
        workspace=workspace,
        mailboxes=[mailbox, other],
        members=[alice, bob],
        conversations=50,
        messages=200,
    )
    return [mailbox, other], result


def _parsed(keys, message: Message) -> SimpleNamespace:
    """What the parser would have handed to `message_tokens`, rebuilt from the sealed row."""
    row = stored_message_row(message)
    envelope = open_json(keys, message.envelope_sealed, field="message.envelope", row=row)

    def address(a: dict) -> SimpleNamespace:
        return SimpleNamespace(name=a["name"], address=a["address"])

    attachments = []
    for attachment in message.attachments.all():
        meta = open_json(
            keys,
            attachment.meta_sealed,
            field="attachment.meta",
            row=stored_attachment_row(attachment),
        )
        attachments.append(SimpleNamespace(filename=meta["filename"]))
    return SimpleNamespace(
        subject=envelope["subject"],
        text=keys.open_text(message.text_sealed, field="message.text", row=row),
        from_=address(envelope["from"]),
        to=[address(a) for a in envelope["to"]],
        cc=[address(a) for a in envelope["cc"]],
        attachments=attachments,
    )


def test_rows_open_and_tokens_match_ingestion(workspace, generated):
    mailboxes, result = generated
    keys = keys_for(workspace)
    conversations = Conversation.objects.filter(workspace=workspace)
    assert conversations.count() == 50
    assert Message.objects.filter(workspace=workspace).count() == 200
    assert {c.mailbox_id for c in conversations} == {m.pk for m in mailboxes}
    assert Message.objects.filter(conversation_id=result.twenty_id).count() == TWENTY
    assert {c.status for c in conversations} >= {"open", "closed"}

    for conversation in conversations:
        summary = conversation_summary(keys, conversation)
        assert summary["subject"] and "@" in summary["address"]
        assert conversation.subject_token == subject_token(keys, summary["subject"])
        assert conversation.message_count == conversation.messages.count()

    for message in Message.objects.filter(workspace=workspace).prefetch_related("attachments"):
        parsed = _parsed(keys, message)
        assert parsed.text.startswith("Bonjour")
        # Exactly the tokens real ingestion computes from the same content.
        assert message.search_tokens == message_tokens(keys, parsed), message.provider_key
        if message.html_sealed is not None:
            row = stored_message_row(message)
            assert "<p>" in keys.open_text(message.html_sealed, field="message.html", row=row)

    assert Attachment.objects.filter(workspace=workspace).exists()
    for note in Note.objects.filter(workspace=workspace):
        assert keys.open_text(note.body_sealed, field="note.body", row=note_row(note.pk))
    links = ConversationTag.objects.filter(conversation__workspace=workspace).select_related("tag")
    assert links and all(tag_name(keys, link.tag) for link in links)


def _found(client, q: str) -> set[int]:
    response = client.get(reverse("inbox"), {"q": q})
    assert response.status_code == 200
    return {row.id for row in response.context["rows"]}


def test_generated_mail_is_found_by_search(alice_client, workspace, generated):
    _mailboxes, result = generated
    keys = keys_for(workspace)
    twenty = Conversation.objects.get(pk=result.twenty_id)
    summary = conversation_summary(keys, twenty)

    assert result.twenty_id in _found(alice_client, f"from:{summary['address']}")
    assert result.twenty_id in _found(alice_client, "has:attachment")
    word = sorted(w for w in summary["subject"].split() if len(w) > 4 and w.isalpha())[0]
    assert result.twenty_id in _found(alice_client, f"subject:{word}")
    assert result.twenty_id in _found(alice_client, "assignee:me is:open")
    assert _found(alice_client, "dinosaure-introuvable") == set()

    page = alice_client.get(reverse("conversation", args=[result.twenty_id]))
    assert page.status_code == 200
    assert escape(summary["subject"]) in page.content.decode()
