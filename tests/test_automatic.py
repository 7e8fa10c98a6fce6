"""Acknowledgements and notifications to requesters on a real Dovecot and a real SMTP server:
sent once, threaded, marked Auto-Submitted, in French and English; and every RFC 3834 loop rule
(out-of-office, lists, bounces, no-reply, our own addresses, spam, one a day per sender)."""

import email
from datetime import timedelta
from email import policy

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.keys import keys_for
from inbox.actions.automatic import mailbox_automatic_set
from inbox.actions.triage import conversation_set_status
from inbox.mail.auto_submitted import auto_facts
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sending import outgoing_send
from inbox.mail.sync import mailbox_sync
from inbox.models import (
    AutomaticKind,
    AutomaticMail,
    Conversation,
    Message,
    Outgoing,
    OutgoingKind,
    SendState,
    Status,
)
from inbox.selectors.automatic import render_text
from tests.mail import loopback_mailbox
from tests.parts import dovecot as dovecot_part
from tests.parts import smtp as smtp_part
from tests.sending_tasks import sends_recorded

dovecot = dovecot_part.dovecot
smtp_server = smtp_part.smtp_server

pytestmark = pytest.mark.django_db

SHARED = "scolarite@lycee-verne.fr"


def settings_for(mailbox, **overrides):
    values = {
        "auto_ack": True,
        "auto_language": "fr",
        "expected_reply_hours": 48,
        "auto_portal_link": True,
        "notify_closed": False,
        "notify_answered": False,
        "satisfaction": False,
        "template_fr": "",
        "template_en": "",
    }
    values.update(overrides)
    mailbox_automatic_set(mailbox=mailbox, **values)
    mailbox.refresh_from_db()
    return mailbox


@pytest.fixture
def setup(workspace, dovecot, smtp_server, monkeypatch):
    sends_recorded(monkeypatch)  # Celery is not under test: workers are called directly
    user, password = dovecot.add_user("scolarite")
    dovecot.create_folder(user, "Sent")
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    settings_for(mailbox)
    return {"mailbox": mailbox, "user": user, "dovecot": dovecot, "smtp": smtp_server}


def mail(
    n: int,
    *,
    sender: str = "Sophie Martin <sophie.martin@exemple.fr>",
    subject: str = "Inscription de Léa",
    headers: tuple[str, ...] = (),
    in_reply_to: str = "",
) -> bytes:
    lines = [
        f"From: {sender}",
        f"To: Scolarité <{SHARED}>",
        f"Subject: {subject}",
        "Date: Thu, 12 Nov 2026 10:15:00 +0100",
        f"Message-ID: <q{n}@exemple.fr>",
        *([f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"] if in_reply_to else []),
        *headers,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Bonjour, je voudrais inscrire ma fille.",
        "",
    ]
    return "\r\n".join(lines).encode()


def arrive(setup, *raws: bytes) -> None:
    for raw in raws:
        setup["dovecot"].append(setup["user"], "INBOX", raw)
    summary = mailbox_sync(mailbox_id=setup["mailbox"].pk, parallel=False)
    assert summary.ok, summary.error


def automatic_outgoings():
    return list(Outgoing.objects.filter(kind=OutgoingKind.AUTO).order_by("pk"))


def send_all() -> list:
    for outgoing in automatic_outgoings():
        outgoing_send(outgoing_id=outgoing.pk)
    return automatic_outgoings()


def received(setup) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m.raw, policy=policy.default) for m in setup["smtp"].messages]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


# --- the acknowledgement ------------------------------------------------------------------------


def test_acknowledgement_sent_once_threaded_auto_submitted_in_french(setup, workspace):
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    [outgoing] = send_all()
    assert outgoing.state == SendState.SENT
    [ack] = received(setup)
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<q1@exemple.fr>"
    assert "<q1@exemple.fr>" in ack["References"]
    assert ack["To"].addresses[0].addr_spec == "sophie.martin@exemple.fr"
    assert ack["From"].addresses[0].addr_spec == SHARED
    assert ack["Subject"] == "Re: Inscription de Léa"
    body = text_of(ack)
    assert "Bonjour Sophie Martin," in body
    assert f"#{conversation.pk}" in body
    assert "2 jours" in body
    assert f"/p/{workspace.slug}/" in body
    # Never twice: the worker's second call claims nothing, and the Sent copy joined the thread.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert len(setup["smtp"].messages) == 1
    assert setup["dovecot"].uids(setup["user"], "Sent")
    arrive(setup)  # the next sync: nothing new to acknowledge
    assert len(automatic_outgoings()) == 1
    conversation.refresh_from_db()
    assert conversation.message_count == 2
    assert conversation.status == Status.OPEN
    sent = Message.objects.get(outgoing=outgoing)
    assert sent.conversation_id == conversation.pk


def test_acknowledgement_in_english_by_setting_or_by_the_message(setup):
    settings_for(setup["mailbox"], auto_language="en", expected_reply_hours=4)
    arrive(setup, mail(1))
    send_all()
    [ack] = received(setup)
    body = text_of(ack)
    assert "Hello Sophie Martin," in body and "4 hours" in body
    assert ack["Auto-Submitted"] == "auto-replied"

    settings_for(setup["mailbox"], auto_language="fr")
    arrive(
        setup,
        mail(2, sender="John Smith <john@example.com>", headers=("Content-Language: en-GB",)),
    )
    send_all()
    assert "Hello John Smith," in text_of(received(setup)[1])


def test_an_edited_template_with_its_variables(setup):
    settings_for(
        setup["mailbox"],
        template_fr="Merci {{ name }} ! Dossier {{ reference }}.\nDélai : {{ expected_reply_time }}",
        expected_reply_hours=None,
    )
    arrive(setup, mail(1))
    send_all()
    body = text_of(received(setup)[0])
    assert body.startswith("Merci Sophie Martin ! Dossier #")
    assert "Délai" not in body  # no expected reply time: the line is left out


def test_a_name_with_a_line_break_adds_no_header(setup):
    hostile = "=?utf-8?q?Sophie=0D=0ABcc=3A_victime=40ailleurs=2Efr=0D=0AX-Evil=3A_1?="
    arrive(setup, mail(1, sender=f"{hostile} <sophie.martin@exemple.fr>"))
    send_all()
    [delivered] = setup["smtp"].messages
    assert delivered.rcpt_tos == ("sophie.martin@exemple.fr",)
    head = delivered.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head and b"\r\nX-Evil" not in head
    ack = received(setup)[0]
    assert ack["Bcc"] is None and ack["X-Evil"] is None
    # The name stays on its line of the body, where it is only text.
    assert text_of(ack).splitlines()[0] == "Bonjour Sophie Bcc: victime@ailleurs.fr X-Evil: 1,"


# --- the loop rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "headers", "subject"),
    [
        pytest.param(None, ("Auto-Submitted: auto-replied",), None, id="out-of-office"),
        pytest.param(None, ("Auto-Submitted: auto-generated",), None, id="auto-generated"),
        pytest.param(None, ("X-Autoreply: yes",), None, id="x-autoreply"),
        pytest.param(None, ("X-Autorespond: vacation",), None, id="x-autorespond"),
        pytest.param(None, (), "Réponse automatique : absente", id="ooo-subject"),
        pytest.param(None, ("List-Id: Parents <parents.lycee-verne.fr>",), None, id="list-id"),
        pytest.param(None, ("Precedence: list",), None, id="precedence-list"),
        pytest.param(None, ("Precedence: bulk",), None, id="precedence-bulk"),
        pytest.param(None, ("Precedence: junk",), None, id="precedence-junk"),
        pytest.param(None, ("Return-Path: <>",), None, id="null-return-path"),
        pytest.param("MAILER-DAEMON@mx.exemple.fr", (), None, id="mailer-daemon"),
        pytest.param("postmaster@exemple.fr", (), None, id="postmaster"),
        pytest.param("Ne pas répondre <no-reply@exemple.fr>", (), None, id="no-reply"),
        pytest.param("ne-pas-repondre@impots.exemple.fr", (), None, id="ne-pas-repondre"),
        pytest.param(None, ("X-Spam-Flag: YES",), None, id="spam-flag"),
        pytest.param(None, ("X-Spam-Status: Yes, score=9.1",), None, id="spam-status"),
        pytest.param("Direction <direction@lycee-verne.fr>", (), None, id="our-own-address"),
    ],
)
def test_nothing_automatic_answers(setup, workspace, sender, headers, subject):
    mailbox_create(workspace=workspace, address="Direction@Lycee-Verne.fr")  # another of ours
    kwargs = {"headers": headers}
    if sender:
        kwargs["sender"] = sender
    if subject:
        kwargs["subject"] = subject
    arrive(setup, mail(1, **kwargs))
    assert Conversation.objects.count() == 1
    assert automatic_outgoings() == []
    assert not AutomaticMail.objects.exists()


def test_auto_submitted_no_is_a_person(setup):
    arrive(setup, mail(1, headers=("Auto-Submitted: no",)))
    assert len(automatic_outgoings()) == 1


def test_a_conversation_marked_spam_gets_nothing(setup):
    mailbox = setup["mailbox"]
    settings_for(mailbox, notify_closed=True)
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    Outgoing.objects.all().delete()
    AutomaticMail.objects.all().delete()
    Conversation.objects.filter(pk=conversation.pk).update(status=Status.SPAM)
    conversation.refresh_from_db()
    from inbox.actions.automatic import requester_notify_closed

    assert requester_notify_closed(conversation=conversation) is None


def test_two_messages_from_one_sender_in_a_day_one_acknowledgement(setup):
    arrive(setup, mail(1, subject="Inscription"), mail(2, subject="Cantine"))
    arrive(setup, mail(3, subject="Transport"))
    assert Conversation.objects.count() == 3
    send_all()
    assert len(setup["smtp"].messages) == 1
    # Another requester still gets theirs.
    arrive(setup, mail(4, sender="paul@exemple.fr", subject="Bourse"))
    assert len(automatic_outgoings()) == 2


def test_the_once_a_day_rule_is_a_database_constraint(setup, workspace):
    """Two workers deciding at once: the second insert fails, whatever any cache says."""
    arrive(setup, mail(1))
    first = AutomaticMail.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        AutomaticMail.objects.create(
            workspace=workspace,
            mailbox=setup["mailbox"],
            conversation=None,
            kind=AutomaticKind.ACK,
            address_token=first.address_token,
            day=first.day,
        )


def test_mail_from_before_the_mailbox_was_connected_is_not_acknowledged(setup):
    from inbox.models import Mailbox

    Mailbox.objects.filter(pk=setup["mailbox"].pk).update(
        created_at=timezone.now() + timedelta(hours=1)
    )
    arrive(setup, mail(1))
    assert automatic_outgoings() == []


def test_acknowledgements_are_off_unless_asked(setup):
    settings_for(setup["mailbox"], auto_ack=False)
    arrive(setup, mail(1))
    assert automatic_outgoings() == []


# --- out-of-office replies -------------------------------------------------------------------


def test_an_out_of_office_never_reopens_wakes_or_moves_the_clocks(setup):
    settings_for(setup["mailbox"], auto_ack=False)
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    later = timezone.now() + timedelta(days=3)
    Conversation.objects.filter(pk=conversation.pk).update(
        status=Status.PENDING, snoozed_until=later
    )
    conversation.refresh_from_db()
    before = conversation.last_message_at
    arrive(
        setup,
        mail(
            2,
            subject="Réponse automatique : Inscription de Léa",
            headers=("Auto-Submitted: auto-replied", "X-Autoreply: yes"),
            in_reply_to="<q1@exemple.fr>",
        ),
    )
    conversation.refresh_from_db()
    assert conversation.message_count == 2
    assert conversation.status == Status.PENDING
    assert conversation.snoozed_until == later
    assert conversation.last_message_at == before
    ooo = Message.objects.get(message_id_token__isnull=False, is_auto_reply=True)
    assert ooo.no_autoreply_reason == "auto"
    assert automatic_outgoings() == []
    # A person writing again does reopen it.
    arrive(setup, mail(3, subject="Re: Inscription de Léa", in_reply_to="<q1@exemple.fr>"))
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.snoozed_until is None


def test_an_out_of_office_leaves_a_closed_conversation_closed(setup):
    settings_for(setup["mailbox"], auto_ack=False)
    arrive(setup, mail(1))
    Conversation.objects.update(status=Status.CLOSED)
    arrive(
        setup,
        mail(2, headers=("Auto-Submitted: auto-replied",), in_reply_to="<q1@exemple.fr>"),
    )
    assert Conversation.objects.get().status == Status.CLOSED


def test_the_badge_shows_on_the_conversation(setup, alice_client):
    settings_for(setup["mailbox"], auto_ack=False)
    arrive(setup, mail(1))
    arrive(setup, mail(2, headers=("X-Autorespond: yes",), in_reply_to="<q1@exemple.fr>"))
    page = alice_client.get(f"/inbox/c/{Conversation.objects.get().pk}/")
    assert page.content.decode().count("badge-auto") == 1


# --- notifications -----------------------------------------------------------------------------


def test_closing_tells_the_requester_once_a_day(setup, alice):
    settings_for(setup["mailbox"], auto_ack=False, notify_closed=True)
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    conversation_set_status(conversation=conversation, status=Status.OPEN, actor=alice)
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    send_all()
    [closed] = received(setup)
    assert closed["Auto-Submitted"] == "auto-replied"
    assert closed["In-Reply-To"] == "<q1@exemple.fr>"
    assert f"#{conversation.pk}" in text_of(closed)
    assert "satisfaction" not in text_of(closed)


def test_closing_answers_no_out_of_office(setup, alice):
    settings_for(setup["mailbox"], auto_ack=False, notify_closed=True)
    arrive(setup, mail(1))
    arrive(setup, mail(2, headers=("Auto-Submitted: auto-replied",), in_reply_to="<q1@exemple.fr>"))
    conversation = Conversation.objects.get()
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    assert automatic_outgoings() == []


def test_the_teams_reply_leaving_tells_the_requester_once_when_the_mailbox_asks(setup, alice):
    from inbox.mail.sending import outgoing_create, outgoing_queue

    settings_for(setup["mailbox"], auto_ack=False, notify_answered=True)
    arrive(setup, mail(1))
    conversation = Conversation.objects.get()
    for _ in range(2):  # two answers the same day: one notification
        reply = outgoing_create(
            mailbox=setup["mailbox"],
            conversation=conversation,
            author=alice,
            kind="reply",
            body="Bien reçu, nous regardons.",
            reply_to_message=conversation.messages.get(direction="in"),
        )
        outgoing_queue(outgoing=reply)
        Outgoing.objects.filter(pk=reply.pk).update(lease_until=timezone.now())
        assert outgoing_send(outgoing_id=reply.pk) == SendState.SENT
    [notification] = automatic_outgoings()
    send_all()
    notices = [m for m in received(setup) if m["Auto-Submitted"] == "auto-replied"]
    assert len(notices) == 1 and "a reçu une réponse" in text_of(notices[0])
    # Off (the default): the reply leaves, nothing automatic follows.
    settings_for(setup["mailbox"], auto_ack=False, notify_answered=False)
    Outgoing.objects.filter(pk=notification.pk).delete()
    from inbox.actions.automatic import requester_notify_answered

    assert requester_notify_answered(conversation=conversation) is None


def test_answered_notification_for_the_portal(setup):
    from inbox.actions.automatic import requester_notify_answered

    settings_for(setup["mailbox"], auto_ack=False, notify_answered=True)
    arrive(setup, mail(1))
    outgoing = requester_notify_answered(conversation=Conversation.objects.get())
    assert outgoing is not None
    send_all()
    [answered] = received(setup)
    assert answered["Auto-Submitted"] == "auto-replied"


# --- the facts, read from headers ------------------------------------------------------------------


def _facts(headers: dict, sender="sophie@exemple.fr", subject="Bonjour"):
    def get(name):
        return [v for k, v in headers.items() if k.lower() == name.lower()]

    return auto_facts(get, sender=sender, subject=subject)


def test_facts_from_headers():
    assert _facts({}).reason == ""
    assert _facts({"Auto-Submitted": "No"}).reason == ""
    assert _facts({"Auto-Submitted": 'auto-replied; owner-email="a@b.fr"'}).is_auto_reply
    assert _facts({"X-Auto-Response-Suppress": "All"}).reason == "auto"
    assert _facts({"List-Unsubscribe": "<mailto:u@l.fr>"}).is_bulk
    assert _facts({"Return-Path": "<sophie@exemple.fr>"}).reason == ""
    assert _facts({"Content-Language": "en-US"}).language == "en"
    assert _facts({}, subject="Out of Office: Inscription").is_auto_reply
    # Only at the start of a subject: a person may write about automatic replies.
    assert not _facts({}, subject="Votre réponse automatique ne marche pas").is_auto_reply
    assert _facts({}, sender="").reason == "no_reply"


def test_render_text_leaves_out_lines_without_values():
    text = (
        "Bonjour {{ name }},\nDélai : {{ expected_reply_time }}\n{{ portal_link }}\n{{ inconnu }}"
    )
    assert render_text(text, {"name": "", "reference": "#1"}) == "Bonjour,\n{{ inconnu }}\n"


def test_templates_are_sealed(setup):
    mailbox = settings_for(setup["mailbox"], template_fr="Merci {{ name }}, dossier secret")
    assert b"dossier secret" not in bytes(mailbox.auto_templates_sealed)
    keys_for(mailbox.workspace)  # the workspace key opens it (acknowledgement_texts)
    from inbox.selectors.automatic import acknowledgement_texts

    assert acknowledgement_texts(mailbox)["fr"] == "Merci {{ name }}, dossier secret"


def test_an_outsider_who_joined_gets_neither_the_closing_mail_nor_its_rating_links(setup, alice):
    settings_for(setup["mailbox"], auto_ack=False, notify_closed=True, satisfaction=True)
    arrive(setup, mail(1))
    # A third party joins by replying (threaded by In-Reply-To), after the requester.
    arrive(setup, mail(2, sender="Intrus <intrus@ailleurs.example>", in_reply_to="<q1@exemple.fr>"))
    conversation = Conversation.objects.get()
    assert conversation.messages.count() == 2
    conversation_set_status(conversation=conversation, status=Status.CLOSED, actor=alice)
    send_all()
    [closing] = received(setup)
    assert closing["To"].addresses[0].addr_spec == "sophie.martin@exemple.fr"
    assert closing["In-Reply-To"] == "<q1@exemple.fr>"
