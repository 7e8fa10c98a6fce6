"""A held send with a real Celery worker on a real Redis broker (our own), a real SMTP server and
Dovecot: nobody online, the eta task sends it when its time comes; undone in time, the same
task finds nothing to send."""

import email
import time
from email import policy

import pytest
from celery.contrib.testing.worker import start_worker
from django.test import Client
from django.urls import reverse

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.models import FolderRole, Message, Outgoing, SendState
from tests.mail import loopback_mailbox
from tests.parts.redis import own_redis  # noqa: F401
from tests.test_faults_redis import redis_app  # noqa: F401
from trupeo.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = (
    b"From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: Inscription\r\n"
    b"Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    b"Message-ID: <inscription-w@exemple.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Bonjour\r\n"
)


def _wait(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def setup(workspace, alice, dovecot, smtp_server):
    user, password = dovecot.add_user("scolarite")
    dovecot.create_folder(user, "Sent")
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    ingest_batch(
        mailbox=mailbox, folder=folder, mails=[RawMail(provider_key="1:1:1", raw=CUSTOMER)]
    )
    workspace.undo_send_seconds = 3
    workspace.save(update_fields=["undo_send_seconds"])
    client = Client()
    client.force_login(alice)
    return client, Message.objects.get(mailbox=mailbox).conversation


def _send(client, conversation, body):
    client.post(reverse("composer_open", args=[conversation.pk]), {"kind": "reply"})
    outgoing = Outgoing.objects.filter(conversation=conversation, state=SendState.DRAFT).latest(
        "pk"
    )
    client.post(
        reverse("draft_send", args=[outgoing.pk]),
        {"to": "sophie.martin@exemple.fr", "subject": "Re", "body": body, "seen": "m9999-n9999"},
    )
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.QUEUED
    return outgoing


def test_the_worker_sends_a_held_message_when_due_and_never_an_undone_one(
    redis_app,  # noqa: F811
    setup,
    smtp_server,
):
    client, conversation = setup
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=60):
        undone = _send(client, conversation, "Brouillon regretté")
        kept = _send(client, conversation, "Réponse envoyée")
        client.post(reverse("outgoing_undo", args=[undone.pk]))
        time.sleep(1)
        assert smtp_server.messages == []  # still within the window: the worker waits
        _wait(lambda: Outgoing.objects.get(pk=kept.pk).state == SendState.SENT, "the held send")
        time.sleep(1.5)  # the undone one's task came due too, and found nothing to claim
    undone.refresh_from_db()
    assert undone.state == SendState.DRAFT
    [sent] = smtp_server.messages
    text = email.message_from_bytes(sent.raw, policy=policy.default).get_body(("plain",))
    assert text.get_content().startswith("Réponse envoyée")
