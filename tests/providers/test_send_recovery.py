"""Recovery of a Gmail / Microsoft 365 send whose worker died, as tests/test_sending.py does
for IMAP: the provider's Sent is searched by Message-ID through its API (Gmail
`rfc822msgid:` among SENT, Graph `internetMessageId` in Sent Items); found → sent and linked,
never sent again; not found → failed, for a person to check. The provider files the sent
copy itself: nothing is ever stored twice."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from inbox.mail import sending
from inbox.mail.sending import (
    interrupted_message,
    outgoing_create,
    outgoing_queue,
    outgoing_recover_stuck,
    outgoing_send,
)
from inbox.mail.sync import mailbox_sync
from inbox.models import Message, Outgoing, OutgoingKind, Provider, SendState
from inbox.tasks import send_outgoing
from tests.mail import french_message
from tests.providers.conftest import GMAIL_ADDRESS, MS_ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def tasks(monkeypatch):
    """Celery is not under test: what would have been queued is recorded."""
    queued = []
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: queued.append(pk))
    monkeypatch.setattr(send_outgoing, "apply_async", lambda *a, **kw: queued.append(a))
    return queued


class _WorkerKilled(BaseException):
    """The process dies: nothing after this point runs (no except clause catches it)."""


class Provided:
    """One OAuth mailbox against its fake, and what the tests ask of it."""

    def __init__(self, provider, request):
        self.provider = provider
        if provider == Provider.GOOGLE:
            self.fake, self.mailbox = (
                request.getfixturevalue("google_fake"),
                request.getfixturevalue("gmail_box"),
            )
            self.address = GMAIL_ADDRESS
        else:
            self.fake, self.mailbox = (
                request.getfixturevalue("microsoft_fake"),
                request.getfixturevalue("graph_box"),
            )
            self.address = MS_ADDRESS

    def receive(self, n: int = 1) -> Message:
        key = self.fake.add_message(
            self.address, french_message(n, message_id=f"<q{n}@famille.fr>")
        )
        summary = mailbox_sync(mailbox_id=self.mailbox.pk)
        assert summary.ok, summary.error
        return Message.objects.get(mailbox=self.mailbox, provider_key=key)

    def sent(self) -> list[bytes]:
        """What the provider accepted to send."""
        if self.provider == Provider.GOOGLE:
            return [s["raw"] for s in self.fake.account(self.address).sent]
        return list(self.fake.mailbox(self.address).sent)

    def sent_copy_key(self) -> str:
        """The id of the provider's own copy in Sent (the one the sync knows it by)."""
        if self.provider == Provider.GOOGLE:
            messages = self.fake.account(self.address).messages.values()
            (key,) = [m.id for m in messages if "SENT" in m.labels]
            return key
        messages = self.fake.mailbox(self.address).messages.values()
        (key,) = [m.immutable_id for m in messages if m.folder == "sentitems"]
        return key

    def searches(self) -> int:
        """Searches of Sent by Message-ID, each of the exact form Trupeo sends."""
        for asked in self.fake.searches:
            if self.provider == Provider.GOOGLE:
                assert re.fullmatch(r"rfc822msgid:<[^<>\s]+@lycee-verne\.fr>", asked)
            else:
                assert re.fullmatch(r"internetMessageId eq '<[^<>'\s]+@lycee-verne\.fr>'", asked)
        return len(self.fake.searches)


@pytest.fixture(params=[Provider.GOOGLE, Provider.MICROSOFT])
def box(request):
    return Provided(request.param, request)


def _reply(box: Provided, author, customer: Message) -> Outgoing:
    outgoing = outgoing_create(
        mailbox=box.mailbox,
        conversation=customer.conversation,
        author=author,
        kind=OutgoingKind.REPLY,
        body="Bonjour,\n\nC’est noté, merci.",
        reply_to_message=customer,
    )
    return outgoing_queue(outgoing=outgoing)


def _expire_lease(outgoing: Outgoing) -> None:
    Outgoing.objects.filter(pk=outgoing.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )


def _send_and_die(monkeypatch, outgoing, where, name):
    with monkeypatch.context() as patch:

        def killed(*args, **kwargs):
            raise _WorkerKilled

        patch.setattr(where, name, killed)
        with pytest.raises(_WorkerKilled):
            outgoing_send(outgoing_id=outgoing.pk)
    outgoing.refresh_from_db()


def test_worker_killed_after_the_provider_accepted_is_found_in_sent_and_not_sent_again(
    box, alice, monkeypatch
):
    customer = box.receive()
    outgoing = _reply(box, alice, customer)
    _send_and_die(monkeypatch, outgoing, sending.delivery, "mark_sent")
    assert outgoing.state == SendState.SENDING
    assert len(box.sent()) == 1

    # The broker redelivers the task (acks_late): the lease still runs, nothing is sent.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert outgoing_recover_stuck().confirmed_sent == 0

    _expire_lease(outgoing)
    result = outgoing_recover_stuck()

    assert (result.confirmed_sent, result.marked_failed) == (1, 0)
    assert box.searches() == 1  # asked the provider's Sent, by Message-ID
    assert len(box.sent()) == 1  # never a second send
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.SENT
    assert outgoing.last_error == ""
    # Linked to the provider's own copy, under the id the sync knows it by.
    assert outgoing.message.provider_key == box.sent_copy_key()
    assert outgoing.message.conversation_id == customer.conversation_id
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    # The copy syncing back is the same message: not stored twice.
    summary = mailbox_sync(mailbox_id=box.mailbox.pk)
    assert summary.ok, summary.error
    assert Message.objects.filter(mailbox=box.mailbox).count() == 2
    assert len(box.sent()) == 1


def test_worker_killed_before_the_provider_had_it_fails_and_waits_for_a_person(
    box, alice, monkeypatch, tasks
):
    import inbox.mail.providers.sending

    customer = box.receive()
    outgoing = _reply(box, alice, customer)
    _send_and_die(monkeypatch, outgoing, inbox.mail.providers.sending, "api_deliver")
    assert outgoing.state == SendState.SENDING
    assert tasks == [outgoing.pk]  # queueing's own task, the one that died
    tasks.clear()
    _expire_lease(outgoing)

    result = outgoing_recover_stuck()

    assert (result.confirmed_sent, result.marked_failed) == (0, 1)
    assert box.searches() == 1  # looked, found nothing
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.FAILED
    with translation.override(alice.language):
        assert outgoing.last_error == interrupted_message()
    assert outgoing.message is None
    # Never retried on its own: no task, no claim, no send.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert outgoing_recover_stuck().marked_failed == 0
    assert box.sent() == []
    assert tasks == []
    assert Message.objects.filter(mailbox=box.mailbox).count() == 1


def test_provider_unreachable_during_recovery_fails_rather_than_guessing(box, alice, monkeypatch):
    customer = box.receive()
    outgoing = _reply(box, alice, customer)
    _send_and_die(monkeypatch, outgoing, sending.delivery, "mark_sent")
    box.fake.revoke_all(box.address)  # the search cannot be made (reconnection needed)
    if box.provider == Provider.GOOGLE:
        box.fake.expire_access_tokens()
    else:
        box.fake.access_tokens.clear()
    _expire_lease(outgoing)

    assert outgoing_recover_stuck().marked_failed == 1
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.FAILED
    with translation.override(alice.language):
        assert outgoing.last_error == interrupted_message()
    assert len(box.sent()) == 1


@pytest.mark.parametrize("synced_first", [True, False], ids=["synced", "not-synced"])
def test_sent_but_not_filed_is_linked_to_the_providers_copy_once(
    box, alice, monkeypatch, synced_first
):
    customer = box.receive()
    outgoing = _reply(box, alice, customer)
    # Gmail named its copy (filed under that id), Graph did not (filed under "sent:<pk>").
    where = "_link_sent_copy" if box.provider == Provider.GOOGLE else "file_in_sent"
    _send_and_die(monkeypatch, outgoing, sending.delivery, where)
    assert (outgoing.state, outgoing.message) == (SendState.SENT, None)
    if synced_first:
        # The sync stores the provider's copy first (nothing links it to the outgoing yet):
        # recognised by its Message-ID, without asking the provider.
        summary = mailbox_sync(mailbox_id=box.mailbox.pk)
        assert summary.ok, summary.error
        assert Message.objects.filter(mailbox=box.mailbox).count() == 2
    _expire_lease(outgoing)

    assert outgoing_recover_stuck().filed == 1
    assert outgoing_recover_stuck().filed == 0
    assert box.searches() == (0 if synced_first else 1)
    outgoing.refresh_from_db()
    assert outgoing.lease_until is None
    assert outgoing.message.provider_key == box.sent_copy_key()
    assert outgoing.message.conversation_id == customer.conversation_id
    assert Message.objects.filter(mailbox=box.mailbox).count() == 2  # not stored twice
    summary = mailbox_sync(mailbox_id=box.mailbox.pk)
    assert summary.ok, summary.error
    assert Message.objects.filter(mailbox=box.mailbox).count() == 2
    assert len(box.sent()) == 1
