"""A batch of mail written over a conversation that changed since the batch read it.

A sync reads a conversation when it threads a new message into it, and writes it when the
whole batch is ready, moments later. Whatever happened in between (an agent put it on hold,
an erasure, a merge) must stay: the batch lays its own changes over it, never its old copy.
Each test makes the change at the worst moment: after threading, before the batch's write.
"""

import threading
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation

from accounts.keys import keys_for
from inbox.actions.merging import conversation_merge, conversation_split
from inbox.actions.snooze import conversation_snooze
from inbox.actions.tags import conversation_tag_add, tag_create
from inbox.actions.triage import conversation_set_status
from inbox.erasure import person_mail_erase, person_mail_find, person_reference
from inbox.mail import ingest as ingest_module
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, Message, Status
from inbox.selectors.conversation_rows import conversation_summary
from privacy.gdpr.deletion import person_erase
from tests.privacy_data.conftest import mail

PARENT = "Jean Dupont <jean.dupont@example.fr>"
OTHER_PARENT = "Marie Dupont <marie.dupont@example.fr>"


@pytest.fixture
def mailbox(workspace):
    return mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")


def _ingest(mailbox, *raws, key: str):
    folder = mailbox.folders.get(role="inbox")
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[
            RawMail(f"x:{key}:{n}", raw, received_at=timezone.now())
            for n, raw in enumerate(raws, 1)
        ],
    )


def _meanwhile(change):
    """Run `change` between the batch's threading (its read) and its first write."""
    write = ingest_module._rows_write
    pending = [change]

    def late_write(rows):
        while pending:
            pending.pop()()
        write(rows)

    return mock.patch.object(ingest_module, "_rows_write", late_write)


def _first(mailbox, sender=PARENT) -> Conversation:
    _ingest(
        mailbox,
        mail(sender=sender, to=mailbox.address, subject="Absence", message_id="a1@example.fr"),
        key="first",
    )
    return Conversation.objects.get()


def _another(mailbox) -> Conversation:
    """A second conversation of the mailbox, from the other parent (a merge's target)."""
    _ingest(
        mailbox,
        mail(sender=OTHER_PARENT, to=mailbox.address, subject="Cantine", message_id="c1@ex.fr"),
        key="target",
    )
    return Conversation.objects.order_by("-pk").first()


def _reply(sender=PARENT, n=2) -> bytes:
    """A requester's answer in the first conversation's thread."""
    return mail(
        sender=sender,
        to="scolarite@lycee-verne.fr",
        subject="Re: Absence",
        message_id=f"a{n}@example.fr",
        in_reply_to="a1@example.fr",
    )


def _team_copy(mailbox, n: int) -> bytes:
    """The team's own message in the thread, filed from the inbox (Bcc to itself)."""
    return mail(
        sender=f"Scolarité <{mailbox.address}>",
        to=PARENT,
        subject="Re: Absence",
        message_id=f"t{n}@lycee-verne.fr",
        in_reply_to="a1@example.fr",
    )


def _status_change(conversation: Conversation, status: str, actor):
    """An agent's status change, as a callable for `_meanwhile` (from a fresh read)."""
    return lambda: conversation_set_status(
        conversation=Conversation.objects.get(pk=conversation.pk), status=status, actor=actor
    )


def _summary(conversation: Conversation) -> dict:
    conversation.refresh_from_db()
    return conversation_summary(keys_for(conversation.workspace), conversation)


def test_an_agents_status_and_snooze_outlive_a_batch_that_read_them_before(
    mailbox, alice, workspace
):
    conversation = _first(mailbox)
    hold = _status_change(conversation, Status.PENDING, alice)
    with _meanwhile(hold):
        _ingest(mailbox, _team_copy(mailbox, 1), key="copy1")
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING
    assert conversation.message_count == 2

    until = timezone.now() + timezone.timedelta(days=2)
    snooze = lambda: conversation_snooze(  # noqa: E731
        conversation=Conversation.objects.get(pk=conversation.pk), until=until, actor=alice
    )
    with _meanwhile(snooze):
        _ingest(mailbox, _team_copy(mailbox, 2), key="copy2")
    conversation.refresh_from_db()
    assert conversation.snoozed_until == until
    assert conversation.message_count == 3


def test_the_customer_writing_again_still_reopens_what_an_agent_closed_meanwhile(mailbox, alice):
    conversation = _first(mailbox)
    close = _status_change(conversation, Status.CLOSED, alice)
    with _meanwhile(close):
        _ingest(mailbox, _reply(), key="again")
    conversation.refresh_from_db()
    assert (conversation.status, conversation.closed_at) == (Status.OPEN, None)
    assert conversation.message_count == 2


def test_an_erased_person_does_not_come_back_through_a_batch_in_flight(mailbox):
    """The erased person's only message goes with their conversation; the other parent's reply,
    threaded into it just before, is threaded again: a new conversation, without a word of the
    erased one, under a new number (the old one stays theirs)."""
    erased = _first(mailbox)
    reply = _reply(sender=OTHER_PARENT)
    erase = lambda: person_erase(  # noqa: E731
        workspace=mailbox.workspace, address="jean.dupont@example.fr"
    )
    with _meanwhile(erase):
        _ingest(mailbox, reply, key="reply")
    conversation = Conversation.objects.get()
    summary = _summary(conversation)
    assert conversation.pk != erased.pk
    assert summary["address"] == "marie.dupont@example.fr"
    assert "jean" not in repr(summary).lower()
    assert conversation.message_count == 1
    assert (conversation.status, conversation.assignee_id) == (Status.OPEN, None)
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_an_erasure_that_rebuilds_the_conversation_meanwhile_is_not_written_over(mailbox):
    """Two parents wrote; one is erased while the team's reply is being filed: the summary
    names the one who stays and the count is what the table holds."""
    _first(mailbox, sender=OTHER_PARENT)
    _ingest(
        mailbox,
        mail(
            sender=PARENT,
            to=mailbox.address,
            subject="Re: Absence",
            message_id="a2@example.fr",
            in_reply_to="a1@example.fr",
            body="Mon fils sera absent.",
        ),
        key="second",
    )
    conversation = Conversation.objects.get()
    assert _summary(conversation)["address"] == "jean.dupont@example.fr"
    erase = lambda: person_erase(  # noqa: E731
        workspace=mailbox.workspace, address="jean.dupont@example.fr"
    )
    copy = mail(
        sender=f"Scolarité <{mailbox.address}>",
        to=OTHER_PARENT,
        subject="Re: Absence",
        message_id="t1@lycee-verne.fr",
        in_reply_to="a1@example.fr",
    )
    with _meanwhile(erase):
        _ingest(mailbox, copy, key="copy")
    summary = _summary(conversation)
    assert summary["address"] == "marie.dupont@example.fr"
    assert "jean" not in repr(summary).lower() and "fils" not in repr(summary)
    assert conversation.message_count == Message.objects.filter(conversation=conversation).count()
    assert conversation.message_count == 2


def test_mail_for_a_conversation_merged_away_meanwhile_joins_where_it_went(mailbox, alice):
    source = _first(mailbox)
    target = _another(mailbox)
    merge = lambda: conversation_merge(  # noqa: E731
        source=Conversation.objects.get(pk=source.pk), target=target, actor=alice
    )
    with _meanwhile(merge):
        _ingest(mailbox, _team_copy(mailbox, 1), key="copy")
    assert Message.objects.count() == 3  # nothing lost
    assert list(Conversation.objects.all()) == [target]  # threaded again: into the target
    target.refresh_from_db()
    assert target.message_count == 3 == target.messages.count()


# Two transactions at once, on PostgreSQL: a batch holds its conversations locked (paused as its
# arrivals are about to be handled) while a teammate or the DPO changes one of them. Each must
# wait for the other or go ahead, never deadlock, and the end state must count every message.
concurrent = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent transactions"
)


def _while_a_batch_holds(mailbox, raw: bytes, change) -> None:
    locked, go, errors = threading.Event(), threading.Event(), []
    handle = ingest_module.arrivals_handle

    def paused(**kwargs):
        locked.set()
        go.wait(15)
        handle(**kwargs)

    def thread(work) -> threading.Thread:
        def run():
            try:
                work()
            except Exception as error:  # a deadlock, say: the test reports it
                errors.append(error)
            finally:
                connection.close()

        started = threading.Thread(target=run)
        started.start()
        return started

    with mock.patch.object(ingest_module, "arrivals_handle", paused):
        batch = thread(lambda: _ingest(mailbox, raw, key="held"))
        assert locked.wait(15)
        other = thread(change)
        other.join(1.5)  # it waits for the batch's locks, or goes ahead where it may
        go.set()
        batch.join(30)
        other.join(30)
    assert not batch.is_alive() and not other.is_alive()
    assert errors == []


@pytest.mark.django_db(transaction=True)
@concurrent
def test_tagging_while_a_batch_holds_the_conversation_does_not_deadlock(mailbox, alice):
    conversation = _first(mailbox)
    tag = tag_create(workspace=mailbox.workspace, name="Urgent")
    tagging = lambda: conversation_tag_add(  # noqa: E731
        conversation=Conversation.objects.get(pk=conversation.pk), tag=tag, actor=alice
    )
    _while_a_batch_holds(mailbox, _reply(), tagging)
    conversation.refresh_from_db()
    assert list(conversation.tags.all()) == [tag]
    assert conversation.message_count == 2 == conversation.messages.count()


@pytest.mark.django_db(transaction=True)
@concurrent
def test_merging_while_a_batch_holds_the_source_waits_and_moves_its_new_mail(mailbox, alice):
    source = _first(mailbox)
    target = _another(mailbox)
    merging = lambda: conversation_merge(  # noqa: E731
        source=Conversation.objects.get(pk=source.pk),
        target=Conversation.objects.get(pk=target.pk),
        actor=alice,
    )
    _while_a_batch_holds(mailbox, _reply(), merging)
    assert list(Conversation.objects.all()) == [target]
    target.refresh_from_db()
    assert target.message_count == 3 == target.messages.count()


@pytest.mark.django_db(transaction=True)
@concurrent
def test_erasing_while_a_batch_holds_the_conversation_counts_what_stays(mailbox):
    conversation = _first(mailbox)
    erasing = lambda: person_erase(  # noqa: E731
        workspace=mailbox.workspace, address="jean.dupont@example.fr"
    )
    _while_a_batch_holds(mailbox, _reply(sender=OTHER_PARENT), erasing)
    summary = _summary(conversation)
    assert summary["address"] == "marie.dupont@example.fr"
    assert "jean" not in repr(summary).lower()
    assert conversation.message_count == 1 == conversation.messages.count()


def test_an_erasure_follows_messages_a_merge_moved_after_they_were_read(mailbox, alice):
    """A teammate merges the conversation away between the erasure's first read of the
    person's messages and its locks: the conversation they are in now is counted again."""
    from inbox import erasure

    source = _first(mailbox)
    target = _another(mailbox)
    workspace = mailbox.workspace
    person = person_reference(workspace=workspace, address="jean.dupont@example.fr")
    found = person_mail_find(workspace=workspace, person=person)
    lock = erasure._conversations_locked

    def merged_first(*args):
        conversation_merge(source=source, target=target, actor=alice)
        return lock(*args)

    with mock.patch.object(erasure, "_conversations_locked", merged_first):
        person_mail_erase(workspace=workspace, found=found)
    summary = _summary(target)
    assert "jean" not in repr(summary).lower()
    assert target.message_count == 1 == target.messages.count()


def test_a_merge_or_split_of_what_is_gone_meanwhile_is_refused_in_words(mailbox, alice):
    source = _first(mailbox)
    _ingest(mailbox, _reply(n=2), key="second")
    target = _another(mailbox)
    stale_source = Conversation.objects.get(pk=source.pk)
    later = Message.objects.filter(conversation=source).order_by("received_at", "id").last()
    conversation_merge(source=source, target=target, actor=alice)
    with translation.override("en"), pytest.raises(ValidationError, match="just merged or deleted"):
        conversation_merge(source=stale_source, target=target, actor=alice)
    with translation.override("en"), pytest.raises(ValidationError, match="just merged or deleted"):
        conversation_split(message=later, actor=alice)  # it moved to the target meanwhile
    assert Conversation.objects.get().message_count == 3
