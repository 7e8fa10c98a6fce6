"""Undo send, send later and "remind me if no answer", over a real SMTP server (aiosmtpd) and a
real Dovecot: a held message is claimed by no worker before its time, "Undo" brings the draft
back intact only while no worker has it, and nothing is ever sent twice."""

import threading
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from inbox.actions import holding
from inbox.actions.snooze import snoozed_wake_due
from inbox.mail.sending import (
    OutgoingStateError,
    outgoing_attachments,
    outgoing_content,
    outgoing_recover_stuck,
    outgoing_send,
)
from inbox.models import (
    Conversation,
    Message,
    Notification,
    NotificationKind,
    Outgoing,
    SendState,
)
from inbox.tasks import send_outgoing
from tests.mail import loopback_mailbox, received_message
from trupeo.storage import object_store

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = (
    b"From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: Inscription\r\n"
    b"Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    b"Message-ID: <inscription-1@exemple.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Bonjour, o\xc3\xb9 en est le dossier ?\r\n"
)
ANSWER = (
    b"From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: Re: Inscription\r\n"
    b"Date: " + format_datetime(timezone.now()).encode() + b"\r\n"
    b"Message-ID: <inscription-2@exemple.fr>\r\n"
    b"In-Reply-To: <inscription-1@exemple.fr>\r\n"
    b"References: <inscription-1@exemple.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Merci !\r\n"
)


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    """What would reach the broker: (id, eta)."""
    calls: list[tuple[int, object]] = []
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: calls.append((pk, None)))
    monkeypatch.setattr(
        send_outgoing,
        "apply_async",
        lambda args, eta=None, countdown=None, **kw: calls.append((args[0], eta or countdown)),
    )
    return calls


@pytest.fixture
def mailbox(workspace, dovecot, smtp_server):
    user, password = dovecot.add_user("scolarite")
    return loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)


def _receive(mailbox, raw=CUSTOMER, uid=1) -> Message:
    return received_message(mailbox, raw, uid)


@pytest.fixture
def customer(mailbox) -> Message:
    return _receive(mailbox)


def _draft(client, conversation, body="Le dossier est complet."):
    client.post(reverse("composer_open", args=[conversation.pk]), {"kind": "reply"})
    outgoing = Outgoing.objects.filter(conversation=conversation, state=SendState.DRAFT).latest(
        "pk"
    )
    client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {
            "to": "Sophie Martin <sophie.martin@exemple.fr>",
            "subject": "Re: Inscription",
            "body": body,
        },
    )
    return outgoing


def _send(client, outgoing, **data):
    return client.post(
        reverse("draft_send", args=[outgoing.pk]),
        {
            "to": "Sophie Martin <sophie.martin@exemple.fr>",
            "subject": "Re: Inscription",
            "body": outgoing_content(outgoing)["body"],
            "seen": "m999999-n999999",
            **data,
        },
    )


def _due_now(outgoing):
    Outgoing.objects.filter(pk=outgoing.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )


# --- undo ---------------------------------------------------------------------------------------


def test_a_sent_reply_waits_for_the_undo_window_and_undo_brings_it_back_intact(
    alice_client, customer, smtp_server, queued
):
    outgoing = _draft(alice_client, customer.conversation)
    alice_client.post(
        reverse("draft_attachments", args=[outgoing.pk]),
        {"file": SimpleUploadedFile("bulletin.pdf", b"%PDF-1.4 bulletin", "application/pdf")},
    )
    outgoing.refresh_from_db()
    [file] = outgoing_attachments(outgoing)
    before = timezone.now()
    _send(alice_client, outgoing)
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.QUEUED
    assert (
        before + timedelta(seconds=9)
        <= outgoing.lease_until
        <= timezone.now() + timedelta(seconds=11)
    )
    # The broker is asked to run it at the end of the window, not now.
    assert queued == [(outgoing.pk, outgoing.lease_until)]
    # A worker (or a duplicate task) arriving early claims nothing.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    slot = alice_client.get(reverse("composer_slot", args=[customer.conversation.pk])).content
    assert reverse("outgoing_undo", args=[outgoing.pk]).encode() in slot

    raw_key = outgoing.raw_object
    response = alice_client.post(reverse("outgoing_undo", args=[outgoing.pk]))
    assert response.status_code == 302
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT and outgoing.raw_object == ""
    content = outgoing_content(outgoing)
    assert content["body"] == "Le dossier est complet."
    assert outgoing_attachments(outgoing) == [file]  # the file too, still in storage
    assert object_store().exists(content["attachments"][0]["key"])
    assert not object_store().exists(raw_key)
    # The page opens the draft again; the worker's task, if it comes, finds nothing to send.
    slot = alice_client.get(reverse("composer_slot", args=[customer.conversation.pk])).content
    assert f'data-draft="{outgoing.pk}"'.encode() in slot
    _due_now(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert smtp_server.messages == []

    # Sent again, and this time left alone: it leaves with its file, once.
    _send(alice_client, outgoing)
    _due_now(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    [sent] = smtp_server.messages
    assert b"bulletin.pdf" in sent.raw
    assert not object_store().exists(content["attachments"][0]["key"])


def test_undo_after_a_worker_claimed_it_is_refused_and_nothing_is_sent_twice(
    alice_client, customer, smtp_server
):
    outgoing = _draft(alice_client, customer.conversation)
    _send(alice_client, outgoing)
    _due_now(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    response = alice_client.post(reverse("outgoing_undo", args=[outgoing.pk]), follow=True)
    assert "Trop tard" in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.SENT
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert len(smtp_server.messages) == 1


def _race(outgoing) -> dict:
    """A worker's claim and the author's Undo, released at the same instant."""
    results: dict[str, object] = {}
    start = threading.Barrier(2)

    def work():
        start.wait()
        results["send"] = outgoing_send(outgoing_id=outgoing.pk)
        connection.close()

    def undo():
        start.wait()
        try:
            holding.outgoing_unqueue(outgoing=outgoing)
            results["undo"] = True
        except OutgoingStateError:
            results["undo"] = False
        connection.close()

    threads = [threading.Thread(target=work), threading.Thread(target=undo)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions")
def test_undo_racing_the_worker_lets_exactly_one_win(alice_client, customer, smtp_server):
    sent = 0
    for round_ in range(5):
        outgoing = _draft(alice_client, customer.conversation, body=f"Essai {round_}")
        _send(alice_client, outgoing)
        _due_now(outgoing)
        results = _race(outgoing)
        outgoing.refresh_from_db()
        assert (results["send"] == SendState.SENT) != results["undo"], results
        assert outgoing.state == (SendState.DRAFT if results["undo"] else SendState.SENT)
        sent += not results["undo"]
        if results["undo"]:
            outgoing.delete()
        assert len(smtp_server.messages) == sent  # never both, never twice


def test_only_the_author_can_undo(alice_client, bob_client, charlie_client, customer):
    outgoing = _draft(alice_client, customer.conversation)
    _send(alice_client, outgoing)
    for client in (bob_client, charlie_client):
        assert client.post(reverse("outgoing_undo", args=[outgoing.pk])).status_code == 404
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.QUEUED


def test_with_no_undo_window_it_leaves_at_once(alice_client, workspace, customer, queued):
    workspace.undo_send_seconds = 0
    workspace.save(update_fields=["undo_send_seconds"])
    outgoing = _draft(alice_client, customer.conversation)
    _send(alice_client, outgoing)
    assert queued == [(outgoing.pk, None)]
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT


# --- send later ---------------------------------------------------------------------------------


def test_tomorrow_at_8_is_held_and_sent_by_the_sweep_when_nobody_is_online(
    alice_client, customer, smtp_server, queued
):
    outgoing = _draft(alice_client, customer.conversation)
    response = _send(alice_client, outgoing, send_later="tomorrow")
    assert response.status_code == 302
    outgoing.refresh_from_db()
    when = timezone.localtime(outgoing.lease_until)
    assert (when.hour, when.minute) == (8, 0)
    assert when.date() == timezone.localtime().date() + timedelta(days=1)
    assert queued == [(outgoing.pk, outgoing.lease_until)]
    slot = alice_client.get(reverse("composer_slot", args=[customer.conversation.pk])).content
    assert "programmé" in slot.decode()

    # Before its time: the sweep leaves it, a worker claims nothing.
    assert outgoing_recover_stuck().requeued == 0
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    # The broker lost the eta task: once due (and a sweep later), the sweep queues it again.
    queued.clear()
    later = outgoing.lease_until + timedelta(minutes=3)
    assert outgoing_recover_stuck(now=later).requeued == 1
    assert queued == [(outgoing.pk, None)]
    _due_now(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    "data",
    [
        {"send_at": "2020-01-01T08:00"},
        {"send_at": "2026-13-45T99:99"},
        {"send_at": "<script>alert(1)</script>"},
        {"send_at": "", "schedule": "1"},
        {"send_later": "yesterday"},
        {"send_at": "9999-12-31T23:59"},
        {"follow_up": "never"},
    ],
)
def test_a_bad_time_is_refused_in_words_and_nothing_is_queued(alice_client, customer, data, queued):
    outgoing = _draft(alice_client, customer.conversation)
    response = _send(alice_client, outgoing, **data)
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT
    assert queued == []


def test_a_typed_time_is_read_in_the_teams_time_zone(alice_client, customer):
    outgoing = _draft(alice_client, customer.conversation)
    day = (timezone.localtime() + timedelta(days=2)).date()
    _send(alice_client, outgoing, send_at=f"{day.isoformat()}T07:30", schedule="1")
    outgoing.refresh_from_db()
    when = timezone.localtime(outgoing.lease_until)
    assert (when.date(), when.hour, when.minute) == (day, 7, 30)


# --- remind me if no answer --------------------------------------------------------------------


def test_no_answer_by_then_brings_the_conversation_back_and_notifies(alice_client, alice, customer):
    outgoing = _draft(alice_client, customer.conversation)
    _send(alice_client, outgoing, follow_up="3days")
    conversation = Conversation.objects.get(pk=customer.conversation_id)
    assert conversation.snoozed_until is not None
    outgoing.refresh_from_db()
    assert outgoing.follow_up_until == conversation.snoozed_until
    assert snoozed_wake_due() == 0
    assert snoozed_wake_due(now=conversation.snoozed_until + timedelta(seconds=1)) == 1
    conversation.refresh_from_db()
    assert conversation.snoozed_until is None
    assert Notification.objects.filter(
        recipient=alice, conversation=conversation, kind=NotificationKind.WOKE
    ).exists()


def test_an_answer_before_then_cancels_the_reminder(alice_client, alice, mailbox, customer):
    outgoing = _draft(alice_client, customer.conversation)
    _send(alice_client, outgoing, follow_up="week")
    _receive(mailbox, ANSWER, uid=2)
    conversation = Conversation.objects.get(pk=customer.conversation_id)
    assert conversation.snoozed_until is None  # back at once with the answer
    assert snoozed_wake_due(now=timezone.now() + timedelta(days=8)) == 0


def test_undo_takes_the_reminder_back_too(alice_client, customer):
    outgoing = _draft(alice_client, customer.conversation)
    _send(alice_client, outgoing, follow_up="tomorrow")
    assert Conversation.objects.get(pk=customer.conversation_id).snoozed_until is not None
    alice_client.post(reverse("outgoing_undo", args=[outgoing.pk]))
    assert Conversation.objects.get(pk=customer.conversation_id).snoozed_until is None
    outgoing.refresh_from_db()
    assert outgoing.follow_up_until is None


# --- the owner's setting ------------------------------------------------------------------------


def test_only_the_owner_sets_the_undo_delay(alice_client, bob_client, workspace, alice):
    url = reverse("workspace_undo_delay")
    assert bob_client.post(url, {"undo_send_seconds": "0"}).status_code == 403
    workspace.refresh_from_db()
    assert workspace.undo_send_seconds == 10
    for hostile in ("61", "-1", "abc", "1e9"):
        alice_client.post(url, {"undo_send_seconds": hostile})
        workspace.refresh_from_db()
        assert workspace.undo_send_seconds == 10
    alice_client.post(url, {"undo_send_seconds": "30"})
    workspace.refresh_from_db()
    assert workspace.undo_send_seconds == 30
    page = alice_client.get(reverse("members")).content.decode()
    assert 'name="undo_send_seconds"' in page and 'value="30"' in page


def test_a_reminder_before_the_message_leaves_is_refused_and_nothing_is_queued(
    alice_client, customer, queued
):
    outgoing = _draft(alice_client, customer.conversation)
    far = (timezone.localtime() + timedelta(days=30)).strftime("%Y-%m-%dT08:00")
    response = _send(alice_client, outgoing, send_at=far, schedule="1", follow_up="week")
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT and queued == []
    assert Conversation.objects.get(pk=customer.conversation_id).snoozed_until is None


def test_presets_fall_on_the_mornings_they_name():
    """Snoozes and reminders at 9:00, sending later at 8:00, Paris time."""
    from zoneinfo import ZoneInfo

    from inbox.actions.holding import follow_up_time, send_preset_time
    from inbox.actions.snooze import preset_time

    paris = ZoneInfo("Europe/Paris")
    now = datetime(2026, 12, 2, 15, 30, tzinfo=paris)  # a Wednesday afternoon

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 12, day, hour, minute, tzinfo=paris)

    assert preset_time("later", now) == at(2, 18, 30)
    assert preset_time("tomorrow", now) == at(3, 9)
    assert preset_time("monday", now) == at(7, 9)
    assert preset_time("week", now) == at(9, 9)
    assert send_preset_time("hour", now) == at(2, 16, 30)
    assert send_preset_time("tomorrow", now) == at(3, 8)
    assert send_preset_time("monday", now) == at(7, 8)
    assert follow_up_time("3days", now) == at(5, 9)
    assert follow_up_time("tomorrow", now) == at(3, 9)
    assert follow_up_time("week", now) == at(9, 9)
