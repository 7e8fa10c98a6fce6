"""Out-of-office replies and reply clocks, with real headers (no hook patched): the parser's
`Message.is_auto_reply` is what `sla.clocks` reads, so an out-of-office never starts, resumes
or restarts a clock, and our own acknowledgement is not the first reply."""

from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from inbox.actions.triage import conversation_set_status
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.models import Conversation, FolderRole, Message, Status
from sla.clocks import is_auto_reply
from sla.models import ConversationClock
from tests.sla import conftest as sla_cast
from tests.sla.conftest import paris

pytestmark = pytest.mark.django_db

FAMILY = "Sophie Parent <sophie@famille.fr>"
_uid = iter(range(1, 10_000))

# The reply-time goals' cast: an office calendar, goals, a clock one can move.
goal_mailbox = sla_cast.goal_mailbox
now = sla_cast.now


def _mail(mailbox, at, *, outbound=False, reply_to=None, auto=False) -> str:
    msg = EmailMessage()
    msg["From"] = mailbox.address if outbound else FAMILY
    msg["To"] = FAMILY if outbound else mailbox.address
    msg["Subject"] = "Re: Absence de Léa" if reply_to else "Absence de Léa"
    msg["Date"] = format_datetime(at)
    message_id = f"<g{next(_uid)}@test>"
    msg["Message-ID"] = message_id
    if reply_to:
        msg["In-Reply-To"] = msg["References"] = reply_to
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Je suis absente jusqu'au 20 mars." if auto else "Bonjour.")
    folder = mailbox.folders.get(role=FolderRole.SENT if outbound else FolderRole.INBOX)
    raw = RawMail(provider_key=f"{folder.pk}:1:{next(_uid)}", raw=msg.as_bytes(), received_at=at)
    ingest_batch(mailbox=mailbox, folder=folder, mails=[raw])
    return message_id


def test_the_clock_reads_the_parsers_flag(goal_mailbox, now):
    asked = _mail(goal_mailbox, paris(2026, 3, 16, 9))
    _mail(goal_mailbox, paris(2026, 3, 16, 9, 1), reply_to=asked, auto=True)
    plain, away = Message.objects.order_by("pk")
    assert not is_auto_reply(plain) and is_auto_reply(away)


def test_an_out_of_office_neither_starts_nor_answers_a_clock(goal_mailbox, now):
    _mail(goal_mailbox, paris(2026, 3, 16, 9), auto=True)
    assert not ConversationClock.objects.exists()  # an out-of-office opened nothing to answer

    asked = _mail(goal_mailbox, paris(2026, 3, 16, 10))
    clock = ConversationClock.objects.get()
    # Our acknowledgement (auto-replied, filed in Sent) is not the first reply.
    now.at = paris(2026, 3, 16, 10, 1)
    _mail(goal_mailbox, now.at, outbound=True, reply_to=asked, auto=True)
    assert ConversationClock.objects.get().first_replied_at is None
    assert ConversationClock.objects.get().due_at == clock.due_at


def test_an_out_of_office_resumes_no_paused_clock_and_restarts_no_closed_one(
    goal_mailbox, now, alice
):
    asked = _mail(goal_mailbox, paris(2026, 3, 16, 9))
    conversation = Conversation.objects.get()
    now.at = paris(2026, 3, 16, 10)
    conversation_set_status(conversation=conversation, status=Status.PENDING, actor=alice)
    paused = ConversationClock.objects.get()
    assert paused.paused_at is not None

    now.at = paris(2026, 3, 16, 11)
    _mail(goal_mailbox, now.at, reply_to=asked, auto=True)
    clock = ConversationClock.objects.get()
    assert clock.paused_at == paused.paused_at and clock.due_at == paused.due_at
    conversation.refresh_from_db()
    assert conversation.status == Status.PENDING

    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    closed = ConversationClock.objects.get()
    now.at = paris(2026, 3, 17, 9)
    _mail(goal_mailbox, now.at, reply_to=asked, auto=True)
    clock = ConversationClock.objects.get()
    assert clock.resolved_at == closed.resolved_at and clock.due_at == closed.due_at
    assert clock.started_at == closed.started_at
    conversation.refresh_from_db()
    assert conversation.status == Status.CLOSED
