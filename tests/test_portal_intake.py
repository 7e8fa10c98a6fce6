"""inbox.mail.portal_intake: a message written on the portal goes through the pipeline like
mail that arrived: threaded by its headers, sealed, indexed, announced by `mail_stored`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.keys import keys_for
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.portal_intake import portal_message_take
from inbox.mail.signals import mail_stored
from inbox.models import Direction, FolderRole, Status
from portal.composing import portal_mime

pytestmark = pytest.mark.django_db


def test_a_portal_reply_threads_seals_indexes_and_is_announced(workspace):
    box = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    first = (
        b"From: parent@example.fr\r\nTo: scolarite@lycee-verne.fr\r\nSubject: Absence\r\n"
        b"Message-ID: <a1@example.fr>\r\n\r\nBonjour.\r\n"
    )
    ingest_batch(
        mailbox=box,
        folder=box.folders.get(role=FolderRole.INBOX),
        mails=[RawMail("INBOX:1:1", first, received_at=timezone.now() - timedelta(hours=1))],
    )
    conversation = box.conversations.get()
    conversation.status = Status.CLOSED
    conversation.save(update_fields=["status"])
    heard = []
    receiver = lambda sender, **kwargs: heard.append(kwargs["arrivals"])  # noqa: E731
    mail_stored.connect(receiver)
    try:
        raw = portal_mime(
            sender="parent@example.fr",
            sender_name="Claire Dupont",
            to=box.address,
            subject="Re: Absence",
            body="Il revient lundi.",
            in_reply_to="<a1@example.fr>",
        )
        message = portal_message_take(mailbox=box, raw=raw)
    finally:
        mail_stored.disconnect(receiver)
    assert message.conversation_id == conversation.pk
    assert message.direction == Direction.INBOUND and message.folder_id is None
    assert message.thread_reason in ("in_reply_to", "references")
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.message_count == 2
    assert heard and heard[0].replied == [conversation]
    assert b"revient" not in bytes(message.text_sealed)
    keys = keys_for(workspace)
    assert keys.search_token("from:parent@example.fr") in message.search_tokens
    assert keys.search_token("lundi") in message.search_tokens
