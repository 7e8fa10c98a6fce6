"""Recipients checked before sending: a domain new to the conversation, a new person, and the
requester copied on a reply to a third party (a known leak of shared inboxes). Each warning
names who and why, and is confirmed for its own reason only."""

import re
from email.utils import format_datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox.actions import compose as drafting
from inbox.models import Message, Outgoing, SendState
from tests.mail import loopback_mailbox, received_message
from tests.sending_tasks import sends_recorded

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST = (
    b"From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: Litige cantine\r\n"
    b"Date: " + format_datetime(timezone.now()).encode() + b"\r\n"
    b"Message-ID: <litige-1@exemple.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Bonjour, je conteste la facture de cantine.\r\n"
)
# The school's lawyer joins the thread, copying the parent (as people do).
LAWYER = (
    b"From: =?utf-8?q?Ma=C3=AEtre_Durand?= <durand@cabinet-avocats.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Cc: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    b"Subject: Re: Litige cantine\r\n"
    b"Date: " + format_datetime(timezone.now()).encode() + b"\r\n"
    b"Message-ID: <litige-2@cabinet-avocats.fr>\r\n"
    b"In-Reply-To: <litige-1@exemple.fr>\r\n"
    b"References: <litige-1@exemple.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Voici mon analyse, confidentielle.\r\n"
)


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    return sends_recorded(monkeypatch)


@pytest.fixture
def mailbox(workspace, dovecot, smtp_server):
    user, password = dovecot.add_user("scolarite")
    return loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)


def _receive(mailbox, raw, uid) -> Message:
    return received_message(mailbox, raw, uid)


@pytest.fixture
def thread(mailbox):
    request = _receive(mailbox, REQUEST, 1)
    lawyer = _receive(mailbox, LAWYER, 2)
    assert lawyer.conversation_id == request.conversation_id
    return request, lawyer


def _open(client, message, kind="reply_all"):
    response = client.post(
        reverse("composer_open", args=[message.conversation_id]),
        {"kind": kind, "message": message.pk},
        HTTP_HX_REQUEST="true",
    )
    outgoing = Outgoing.objects.filter(conversation_id=message.conversation_id).latest("pk")
    seen = re.search(r'name="seen" value="([^"]+)"', response.content.decode()).group(1)
    return outgoing, seen


def _send(client, outgoing, seen, **data):
    return client.post(
        reverse("draft_send", args=[outgoing.pk]),
        {"subject": "Re: Litige cantine", "body": "Merci Maître.", "seen": seen, **data},
        HTTP_HX_REQUEST="true",
    )


def _confirms(html, field):
    return re.findall(rf'name="{field}" value="([^"]+)"', html)


def test_reply_all_to_the_third_party_names_the_copied_requester(
    alice_client, thread, queued, english
):
    _request, lawyer = thread
    outgoing, seen = _open(alice_client, lawyer)
    to = "Maître Durand <durand@cabinet-avocats.fr>"
    cc = "Sophie Martin <sophie.martin@exemple.fr>"
    html = _send(alice_client, outgoing, seen, to=to, cc=cc).content.decode()
    assert queued == []
    [item] = re.findall(r'<li data-reason="requester_copied">(.*?)</li>', html, re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", item).split())
    assert "Sophie Martin &lt;sophie.martin@exemple.fr&gt;" in text
    assert "opened this conversation and would get a copy of your message to" in text
    assert "durand@cabinet-avocats.fr" in text
    assert _confirms(html, "confirm_copy") == ["sophie.martin@exemple.fr"]
    # Confirming it as a "new address" is not confirming the copy.
    forged = _send(
        alice_client, outgoing, seen, to=to, cc=cc, confirm_outside="sophie.martin@exemple.fr"
    )
    assert "requester_copied" in forged.content.decode() and queued == []
    # One click: the form carries the confirmation.
    response = _send(
        alice_client, outgoing, seen, to=to, cc=cc, confirm_copy="sophie.martin@exemple.fr"
    )
    assert response.status_code == 204 and queued == [outgoing.pk]


def test_replying_to_the_requester_or_to_the_third_party_alone_asks_nothing(
    alice_client, thread, english
):
    request, lawyer = thread
    outgoing, seen = _open(alice_client, request, kind="reply")
    html = _send(alice_client, outgoing, seen, to="sophie.martin@exemple.fr").content.decode()
    assert "composer-outside" not in html
    outgoing, seen = _open(alice_client, lawyer, kind="reply")
    response = _send(alice_client, outgoing, seen, to="durand@cabinet-avocats.fr")
    assert response.status_code == 204


def test_the_reason_says_new_domain_or_new_person(thread):
    request, _lawyer = thread
    from inbox.mail.sending import outgoing_create

    outgoing = outgoing_create(
        mailbox=request.mailbox,
        conversation=request.conversation,
        author=None,
        kind="reply",
        to=["sophie.martin@exemple.fr"],
        cc=["paul.martin@exemple.fr", "expert@autre-cabinet.fr", "cpe@lycee-verne.fr"],
        reply_to_message=request,
    )
    reasons = {w.address: w.reason for w in drafting.recipient_warnings(outgoing)}
    # A colleague of a participant, a domain nobody in the thread writes from; the team: nothing.
    assert reasons == {
        "paul.martin@exemple.fr": "new_person",
        "expert@autre-cabinet.fr": "new_domain",
    }


def test_a_confirmation_covers_only_the_address_confirmed(alice_client, thread, queued, english):
    request, _lawyer = thread
    outgoing, seen = _open(alice_client, request, kind="reply")
    html = _send(
        alice_client, outgoing, seen, to="sophie.martin@exemple.fr", cc="expert@autre-cabinet.fr"
    ).content.decode()
    assert "nobody in this conversation writes from autre-cabinet.fr" in html
    assert _confirms(html, "confirm_outside") == ["expert@autre-cabinet.fr"]
    # Swapped for another address after confirming: asked again.
    html = _send(
        alice_client,
        outgoing,
        seen,
        to="sophie.martin@exemple.fr",
        cc="pirate@autre-cabinet.fr",
        confirm_outside="expert@autre-cabinet.fr",
    ).content.decode()
    assert _confirms(html, "confirm_outside") == ["pirate@autre-cabinet.fr"]
    assert queued == []
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT


@pytest.fixture
def english(alice):
    alice.language = "en"
    alice.save(update_fields=["language"])
    return alice
