"""Acknowledgements ask the business calendar (sla) through inbox's provider hook: mail
received on a Saturday gets the out-of-hours sentence, and with a reply-time goal the expected
reply time is the moment the calendar computes (Monday 13:00 for a 4-hour goal)."""

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Workspace
from inbox.actions import automatic
from inbox.actions.automatic import acknowledgement_send
from inbox.models import Conversation, Mailbox, Message
from inbox.selectors.automatic import business_hours, is_out_of_hours
from sla.models import ReplyGoal
from tests import test_automatic
from tests.test_automatic import arrive, mail, received, send_all, settings_for, text_of

# The acknowledgement tests' cast: a real Dovecot, a real SMTP server, the mailbox.
dovecot = test_automatic.dovecot
smtp_server = test_automatic.smtp_server
setup = test_automatic.setup

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=PARIS)
TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=PARIS)


def test_sla_provides_the_calendar_to_acknowledgements(workspace):
    assert business_hours() is not None  # connected by SlaConfig.ready()
    mailbox = Mailbox.objects.create(workspace=workspace, address="x@lycee-verne.fr")
    assert is_out_of_hours(mailbox, SATURDAY)
    assert not is_out_of_hours(mailbox, TUESDAY)


def _acknowledge_at(cast, monkeypatch, at: datetime) -> str:
    """The first mail of a conversation received at `at`, acknowledged then."""
    mailbox = cast["mailbox"]
    settings_for(mailbox, auto_ack=False)
    arrive(cast, mail(1))
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(received_at=at)
    Mailbox.objects.filter(pk=mailbox.pk).update(created_at=at - timedelta(days=30))
    mailbox = settings_for(Mailbox.objects.get(pk=mailbox.pk))
    mailbox.workspace = Workspace.objects.get(pk=mailbox.workspace_id)
    message.refresh_from_db()
    now = at + timedelta(minutes=1)
    clock = SimpleNamespace(now=lambda: now, localdate=lambda: now.date())
    monkeypatch.setattr(automatic, "timezone", clock)
    outgoing = acknowledgement_send(
        mailbox=mailbox,
        conversation=Conversation.objects.get(),
        message=message,
        name="Sophie Martin",
        address="sophie.martin@exemple.fr",
        language="fr",
    )
    assert outgoing is not None
    monkeypatch.undo()
    send_all()
    [ack] = received(cast)
    return text_of(ack)


def test_saturday_mail_is_acknowledged_out_of_hours_with_the_calendar_deadline(setup, monkeypatch):
    ReplyGoal.objects.create(
        workspace=setup["mailbox"].workspace, mailbox=setup["mailbox"], first_reply_minutes=240
    )
    body = _acknowledge_at(setup, monkeypatch, SATURDAY)
    assert "en dehors de nos horaires" in body
    # Monday 9:00 + 4 business hours, in the calendar's zone (not the 48 hours of the mailbox).
    assert "lundi 7 décembre à 13:00" in body
    assert "2 jours" not in body


def test_without_a_goal_the_mailbox_hours_are_kept_and_open_hours_say_nothing(setup, monkeypatch):
    body = _acknowledge_at(setup, monkeypatch, TUESDAY)
    assert "2 jours" in body
    assert "en dehors de nos horaires" not in body
