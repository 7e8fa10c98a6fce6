"""Replies sent through Gmail's messages.send and Graph's sendMail: our own Message-ID and
threading headers, the provider's thread, the sent copy recognised when it syncs back."""

import email
import re

import pytest
from django.utils import timezone

from inbox.mail.sending import outgoing_create, outgoing_queue, outgoing_send
from inbox.mail.sync import mailbox_sync
from inbox.models import Message, Outgoing, OutgoingKind, SendState
from inbox.tasks import send_outgoing
from tests.mail import french_message
from tests.parts.http_fake import Response
from tests.providers.conftest import GMAIL_ADDRESS, MS_ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Celery is not under test: the send is called directly."""
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: None)
    monkeypatch.setattr(send_outgoing, "apply_async", lambda *a, **kw: None)


def _reply_to(mailbox, alice, message):
    outgoing = outgoing_create(
        mailbox=mailbox,
        conversation=message.conversation,
        author=alice,
        kind=OutgoingKind.REPLY,
        body="Bonjour,\n\nC’est noté, merci.",
        reply_to_message=message,
    )
    return outgoing_queue(outgoing=outgoing)


def test_gmail_reply_is_sent_in_the_thread_and_not_stored_twice(alice, google_fake, gmail_box):
    customer = google_fake.add_message(
        GMAIL_ADDRESS, french_message(1, message_id="<q1@famille.fr>")
    )
    mailbox_sync(mailbox_id=gmail_box.pk)
    message = Message.objects.get(mailbox=gmail_box, provider_key=customer)
    outgoing = _reply_to(gmail_box, alice, message)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT

    sent = google_fake.account(GMAIL_ADDRESS).sent
    assert len(sent) == 1 and sent[0]["threadId"] == customer  # in the customer's thread
    mime = email.message_from_bytes(sent[0]["raw"])
    assert mime["In-Reply-To"] == "<q1@famille.fr>"
    assert "<q1@famille.fr>" in mime["References"]
    assert mime["Message-ID"].endswith("@lycee-verne.fr>")  # ours, not Gmail's
    outgoing.refresh_from_db()
    assert outgoing.message.conversation_id == message.conversation_id
    # The copy comes back through history: recognised by its id, not stored again.
    summary = mailbox_sync(mailbox_id=gmail_box.pk)
    assert summary.ok, summary.error
    assert Message.objects.filter(mailbox=gmail_box).count() == 2


def test_graph_reply_is_sent_as_mime_and_its_copy_recognised(alice, microsoft_fake, graph_box):
    microsoft_fake.add_message(MS_ADDRESS, french_message(1, message_id="<q2@famille.fr>"))
    mailbox_sync(mailbox_id=graph_box.pk)
    message = Message.objects.get(mailbox=graph_box)
    outgoing = _reply_to(graph_box, alice, message)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT

    box = microsoft_fake.mailbox(MS_ADDRESS)
    assert len(box.sent) == 1
    mime = email.message_from_bytes(box.sent[0])
    assert mime["In-Reply-To"] == "<q2@famille.fr>"
    outgoing.refresh_from_db()
    assert outgoing.message.provider_key == f"sent:{outgoing.pk}"
    # Sent Items brings the copy back under a Graph id: recognised by its Message-ID.
    summary = mailbox_sync(mailbox_id=graph_box.pk)
    assert summary.ok, summary.error
    assert Message.objects.filter(mailbox=graph_box).count() == 2
    assert message.conversation.messages.count() == 2


def test_send_refused_when_reconnection_needed(alice, google_fake, gmail_box):
    customer = google_fake.add_message(GMAIL_ADDRESS, french_message(1))
    mailbox_sync(mailbox_id=gmail_box.pk)
    message = Message.objects.get(mailbox=gmail_box, provider_key=customer)
    outgoing = _reply_to(gmail_box, alice, message)
    google_fake.revoke_all(GMAIL_ADDRESS)
    google_fake.expire_access_tokens()
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.FAILED
    outgoing.refresh_from_db()
    assert "reconnect" in outgoing.last_error.lower()
    assert google_fake.account(GMAIL_ADDRESS).sent == []


def _due(outgoing):
    """Bring the next try of the backoff to now."""
    Outgoing.objects.filter(pk=outgoing.pk).update(lease_until=timezone.now())


def test_graph_server_error_is_retried_after_looking_in_sent(alice, microsoft_fake, graph_box):
    microsoft_fake.add_message(MS_ADDRESS, french_message(1))
    mailbox_sync(mailbox_id=graph_box.pk)
    outgoing = _reply_to(graph_box, alice, Message.objects.get(mailbox=graph_box))
    calls = []

    def broken(request):  # Graph fails before taking it
        calls.append(1)
        return Response(503, {"error": {"code": "ServiceUnavailable"}})

    route = ("POST", re.compile(r"/v1\.0/me/sendMail\Z"), broken)
    microsoft_fake.routes.insert(0, route)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
    assert len(calls) == 1  # never repeated within the attempt
    outgoing.refresh_from_db()
    assert outgoing.check_sent_first and "503" in outgoing.last_error
    assert outgoing.lease_until > timezone.now()

    microsoft_fake.routes.remove(route)
    _due(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert len(microsoft_fake.mailbox(MS_ADDRESS).sent) == 1


def test_graph_server_error_after_taking_it_is_not_sent_twice(alice, microsoft_fake, graph_box):
    microsoft_fake.add_message(MS_ADDRESS, french_message(1))
    mailbox_sync(mailbox_id=graph_box.pk)
    outgoing = _reply_to(graph_box, alice, Message.objects.get(mailbox=graph_box))

    def took_it_then_failed(request):  # the message left, the answer was a 503
        microsoft_fake.send_mail(request)
        return Response(503, {"error": {"code": "ServiceUnavailable"}})

    route = ("POST", re.compile(r"/v1\.0/me/sendMail\Z"), took_it_then_failed)
    microsoft_fake.routes.insert(0, route)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
    microsoft_fake.routes.remove(route)
    _due(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT  # found in Sent Items
    assert len(microsoft_fake.mailbox(MS_ADDRESS).sent) == 1
    outgoing.refresh_from_db()
    assert outgoing.message is not None and outgoing.attempts == 2


def test_gmail_throttling_is_retried_later(alice, google_fake, gmail_box, monkeypatch):
    from inbox.mail.providers import api

    monkeypatch.setattr(api, "pause", lambda seconds: None)
    customer = google_fake.add_message(GMAIL_ADDRESS, french_message(1))
    mailbox_sync(mailbox_id=gmail_box.pk)
    outgoing = _reply_to(gmail_box, alice, Message.objects.get(provider_key=customer))

    def throttled(request):
        return Response(429, {"error": {"code": 429, "errors": [{"reason": "rateLimitExceeded"}]}})

    route = ("POST", re.compile(r"/gmail/v1/users/me/messages/send\Z"), throttled)
    google_fake.routes.insert(0, route)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
    outgoing.refresh_from_db()
    assert not outgoing.check_sent_first  # a 429 says it was not taken
    assert google_fake.account(GMAIL_ADDRESS).sent == []
    google_fake.routes.remove(route)
    _due(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert len(google_fake.account(GMAIL_ADDRESS).sent) == 1
