"""Rows written in bulk (binary COPY on PostgreSQL) read back exactly as they were set."""

import pytest
from django.db import connection
from django.utils import timezone

from inbox.mail.bulk_insert import column_reader, rows_insert
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, Message

pytestmark = pytest.mark.django_db


def _conversation_and_message(workspace, *, conversation_pk=None, **message_fields):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    now = timezone.now()
    conversation = Conversation(
        pk=conversation_pk,
        workspace=workspace,
        mailbox=mailbox,
        last_message_at=now,
        first_message_at=now,
    )
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
        **message_fields,
    )
    return conversation, message


@pytest.mark.parametrize(
    "tokens", [None, [], [7], [-(2**62), -1, 0, 1, 2**62 - 1], list(range(-500, 500, 3))]
)
def test_search_tokens_survive_the_copy(workspace, tokens):
    conversation, message = _conversation_and_message(workspace, search_tokens=tokens)
    rows_insert([conversation])
    rows_insert([message])
    stored = Message.objects.get(pk=message.pk)
    assert stored.search_tokens == tokens
    assert bytes(stored.envelope_sealed) == b"\x00\x01sealed"
    assert stored.conversation_id == conversation.pk
    if tokens:
        assert Message.objects.filter(search_tokens__contains_all=tokens[:2]).get() == stored


def test_values_read_as_they_are_equal_what_django_would_prepare(workspace):
    conversation, message = _conversation_and_message(
        workspace,
        conversation_pk=41,
        text_sealed=memoryview(b"a view"),  # not bytes: prepared by Django
        is_seen=1,  # not a bool: prepared by Django
    )
    for obj in (conversation, message):
        for field in type(obj)._meta.concrete_fields:
            if getattr(field, "auto_now_add", False) or hasattr(field, "copy_binary"):
                continue
            expected = field.get_db_prep_save(field.pre_save(obj, True), connection)
            assert _plain(column_reader(field, connection)(obj)) == _plain(expected), field.name


def _plain(value):
    value = getattr(value, "obj", value)  # psycopg's Binary() wraps bytes
    return bytes(value) if isinstance(value, memoryview) else value
