"""Replies through the API: the composer's state machine, its checks as 409s, and the
sending task delivering through a real SMTP server (aiosmtpd)."""

import email
from email import policy

import pytest

from inbox.mail.sending import outgoing_send
from inbox.models import Direction, Message, Outgoing, SendState
from tests.api.conftest import Api, make_token
from tests.mail import loopback_mailbox, received_message
from tests.sending_tasks import sends_recorded

# Real commits: the sending task is queued on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

SHARED = "scolarite@lycee-verne.fr"
CUSTOMER = (
    "From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    f"To: Scolarité <{SHARED}>\r\n"
    "Subject: Absence de Léa le 12 novembre\r\n"
    "Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    "Message-ID: <absence-lea-1@exemple.fr>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Bonjour,\r\n\r\nLéa sera absente jeudi.\r\nSophie\r\n"
).encode()
FOLLOW_UP = (
    "From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    f"To: {SHARED}\r\n"
    "Subject: Re: Absence de Léa le 12 novembre\r\n"
    "Message-ID: <absence-lea-2@exemple.fr>\r\n"
    "In-Reply-To: <absence-lea-1@exemple.fr>\r\n"
    "References: <absence-lea-1@exemple.fr>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Finalement elle viendra l'après-midi.\r\n"
).encode()


@pytest.fixture
def sent(monkeypatch):
    return sends_recorded(monkeypatch)


@pytest.fixture
def customer(workspace, dovecot, smtp_server):
    user, password = dovecot.add_user("scolarite")
    mailbox = loopback_mailbox(
        workspace, dovecot, smtp_server, user=user, password=password, address=SHARED
    )
    return received_message(mailbox, CUSTOMER)


@pytest.fixture
def api(workspace, alice):
    return Api(make_token(workspace, alice).secret)


def test_a_reply_is_queued_then_sent_through_smtp(api, customer, sent, smtp_server, alice):
    conversation = customer.conversation
    seen = api.get(f"/conversations/{conversation.pk}").json()["seen"]
    response = api.post(
        f"/conversations/{conversation.pk}/replies",
        {"body": "Bonjour Madame,\n\nC’est noté.", "seen": seen},
    )
    assert response.status_code == 202, response.content
    reply = response.json()
    assert reply["state"] == "queued" and reply["conversation_id"] == conversation.pk
    outgoing = Outgoing.objects.get(pk=reply["id"])
    assert outgoing.author == alice and sent == [outgoing.pk]

    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("sophie.martin@exemple.fr",)
    parsed = email.message_from_bytes(received.raw, policy=policy.default)
    assert parsed["In-Reply-To"] == "<absence-lea-1@exemple.fr>"
    assert parsed["Subject"] == "Re: Absence de Léa le 12 novembre"
    assert "C’est noté." in parsed.get_body(("plain",)).get_content()
    assert api.get(f"/replies/{outgoing.pk}").json()["state"] == "sent"
    assert Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND).exists()
    detail = api.get(f"/conversations/{conversation.pk}").json()
    assert [m["direction"] for m in detail["messages"]] == ["in", "out"]


def test_something_arrived_since_is_a_409_and_leaves_no_draft(api, customer, sent):
    conversation = customer.conversation
    seen = api.get(f"/conversations/{conversation.pk}").json()["seen"]
    received_message(customer.mailbox, FOLLOW_UP, 2)
    response = api.post(
        f"/conversations/{conversation.pk}/replies", {"body": "C’est noté.", "seen": seen}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conversation_changed" and error["seen"] != seen
    assert not Outgoing.objects.exists() and sent == []
    response = api.post(
        f"/conversations/{conversation.pk}/replies", {"body": "Noté.", "seen": error["seen"]}
    )
    assert response.status_code == 202


def test_a_new_outside_address_needs_the_confirm_flag(api, customer, sent):
    conversation = customer.conversation
    body = {"body": "Pour information.", "to": ["Avocat <maitre.durand@cabinet.fr>"]}
    response = api.post(f"/conversations/{conversation.pk}/replies", body)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "confirm_recipients"
    assert error["recipients"] == [{"address": "maitre.durand@cabinet.fr", "reason": "new_domain"}]
    assert not Outgoing.objects.exists()
    response = api.post(
        f"/conversations/{conversation.pk}/replies", {**body, "confirm_recipients": True}
    )
    assert response.status_code == 202
    assert sent == [response.json()["id"]]


def test_the_recipient_cap_holds(api, customer, workspace, sent):
    workspace.max_recipients = 2
    workspace.save(update_fields=["max_recipients"])
    to = [f"parent{n}@exemple.fr" for n in range(3)]
    response = api.post(
        f"/conversations/{customer.conversation.pk}/replies",
        {"body": "Réunion jeudi.", "to": to, "confirm_recipients": True},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_recipients"
    assert not Outgoing.objects.exists()


def test_bad_addresses_and_other_workspaces_messages(api, customer, charlie, sent):
    url = f"/conversations/{customer.conversation.pk}/replies"
    response = api.post(url, {"body": "x", "to": ["pas une adresse"]})
    assert response.status_code == 422 and "pas une adresse" in response.json()["error"]["message"]
    assert api.post(url, {"body": "x", "message_id": 2**62}).status_code == 404
    assert api.post(url, {"body": "x", "kind": "forward"}).status_code == 422
    charlie_api = Api(make_token(charlie.memberships.get().workspace, charlie).secret)
    assert charlie_api.post(url, {"body": "x"}).status_code == 404
    assert not Outgoing.objects.exists()


def test_a_read_only_workspace_sends_nothing(api, customer, workspace, sent):
    from django.utils import timezone

    workspace.read_only_since = timezone.now()
    workspace.save(update_fields=["read_only_since"])
    response = api.post(f"/conversations/{customer.conversation.pk}/replies", {"body": "x"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "read_only"
    assert api.get(f"/conversations/{customer.conversation.pk}").status_code == 200
    assert not Outgoing.objects.exists()
