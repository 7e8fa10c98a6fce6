"""Rows written in bulk (binary COPY on PostgreSQL) read back exactly as they were set."""

import pytest
from django.utils import timezone

from inbox.bulk_insert import rows_insert
from inbox.mailboxes import mailbox_create
from inbox.models import Conversation, Message

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "tokens", [None, [], [7], [-(2**62), -1, 0, 1, 2**62 - 1], list(range(-500, 500, 3))]
)
def test_search_tokens_survive_the_copy(workspace, tokens):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    now = timezone.now()
    conversation = Conversation(
        workspace=workspace, mailbox=mailbox, last_message_at=now, first_message_at=now
    )
    rows_insert([conversation])
    message = Message(
        workspace=workspace,
        mailbox=mailbox,
        conversation=conversation,
        provider_key="1:1:1",
        sealed_as="1:1:1",
        direction="in",
        thread_reason="new",
        envelope_sealed=b"\x00\x01sealed",
        raw_object="ws/1/x",
        raw_size=3,
        received_at=now,
        search_tokens=tokens,
    )
    rows_insert([message])
    stored = Message.objects.get(pk=message.pk)
    assert stored.search_tokens == tokens
    assert bytes(stored.envelope_sealed) == b"\x00\x01sealed"
    assert stored.conversation_id == conversation.pk
    if tokens:
        assert Message.objects.filter(search_tokens__contains_all=tokens[:2]).get() == stored
