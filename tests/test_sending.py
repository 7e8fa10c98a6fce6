"""Replies, reply-all, forwards and new messages, sent over a real SMTP server (aiosmtpd) and
filed in the Sent folder of a real Dovecot: the outgoing state machine end to end."""

import email
import re
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts.keys import keys_for
from inbox.mail import compose, sending
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create, mailbox_credentials
from inbox.mail.parsing import parse_message
from inbox.mail.sealing import mailbox_row, seal_json
from inbox.mail.sending import (
    OutgoingStateError,
    interrupted_message,
    outgoing_create,
    outgoing_queue,
    outgoing_recover_stuck,
    outgoing_retry,
    outgoing_send,
)
from inbox.models import (
    Direction,
    FolderRole,
    Mailbox,
    MailboxFolder,
    Message,
    Outgoing,
    OutgoingKind,
    SendState,
    ThreadReason,
)
from inbox.tasks import send_outgoing
from tests.factories import workspace_for
from tests.parts import dovecot as dovecot_part
from tests.parts import free_loopback_port
from tests.parts import smtp as smtp_part

dovecot = dovecot_part.dovecot  # the session's Dovecot, a fixture
smtp_server = smtp_part.smtp_server  # an aiosmtpd server recording what it accepts, a fixture
smtp_server_busy = smtp_part.smtp_server_busy  # 451 a few times, then accepts
smtp_server_down = smtp_part.smtp_server_down  # refuses connections until started

FIXTURES = Path(__file__).parent / "fixtures" / "eml"
SHARED = "scolarite@lycee-verne.fr"
OUR_ID = re.compile(r"^<[0-9a-f]{32}@lycee-verne\.fr>$")

CUSTOMER = (
    "From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    "To: Scolarité Lycée Jules Verne <scolarite@lycee-verne.fr>, "
    "Paul Martin <PAUL.MARTIN@exemple.fr>\r\n"
    "Cc: paul.martin@exemple.fr, Direction <direction@lycee-verne.fr>, "
    "Scolarite@Lycee-Verne.fr\r\n"
    "Reply-To: Sophie (bureau) <s.martin@bureau.exemple.fr>\r\n"
    "Subject: Absence de Léa le 12 novembre\r\n"
    "Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    "Message-ID: <absence-lea-1@exemple.fr>\r\n"
    "In-Reply-To: <rentree@lycee-verne.fr>\r\n"
    "References: <rentree@lycee-verne.fr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Bonjour,\r\n"
    "\r\n"
    "Léa sera absente jeudi pour un rendez-vous médical.\r\n"
    "Sophie\r\n"
).encode()


# --- the parts -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def tasks(monkeypatch):
    """Celery is not under test here: record what would be queued, and call services directly."""
    queued: list[tuple[int, int | None]] = []
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: queued.append((pk, None)))
    monkeypatch.setattr(
        send_outgoing,
        "apply_async",
        lambda args, countdown=None, **kw: queued.append((args[0], countdown)),
    )
    return queued


@dataclass
class Setup:
    mailbox: Mailbox
    imap_user: str
    inbox: MailboxFolder
    sent: MailboxFolder


def _mailbox(workspace, dovecot, *, smtp_port, smtp_username="", smtp_password="", address=SHARED):
    user, password = dovecot.add_user("scolarite")
    mailbox = mailbox_create(
        workspace=workspace,
        address=address,
        name="Scolarité Lycée Jules Verne",
        credentials={"imap_password": password, "smtp_password": smtp_password},
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_username=smtp_username,
    )
    return Setup(
        mailbox=mailbox,
        imap_user=user,
        inbox=mailbox.folders.get(role=FolderRole.INBOX),
        sent=mailbox.folders.get(role=FolderRole.SENT),
    )


def _mailbox_on(workspace, dovecot, smtp) -> Setup:
    """The shared mailbox, sending through this test SMTP server with its login."""
    return _mailbox(
        workspace,
        dovecot,
        smtp_port=smtp.port,
        smtp_username=smtp.username,
        smtp_password=smtp.password,
    )


@pytest.fixture
def setup(workspace, dovecot, smtp_server):
    return _mailbox_on(workspace, dovecot, smtp_server)


@pytest.fixture
def english(alice):
    alice.language = "en"
    alice.save(update_fields=["language"])
    return alice


def _receive(setup: Setup, raw: bytes = CUSTOMER, uid: int = 1) -> Message:
    ingest_batch(
        mailbox=setup.mailbox,
        folder=setup.inbox,
        mails=[RawMail(provider_key=f"{setup.inbox.pk}:1:{uid}", raw=raw)],
    )
    return Message.objects.get(mailbox=setup.mailbox, provider_key=f"{setup.inbox.pk}:1:{uid}")


def _reply(setup, author, customer, kind=OutgoingKind.REPLY, **fields) -> Outgoing:
    outgoing = outgoing_create(
        mailbox=setup.mailbox,
        conversation=customer.conversation,
        author=author,
        kind=kind,
        body=fields.pop("body", "Bonjour Madame,\n\nC’est noté, merci."),
        reply_to_message=customer,
        **fields,
    )
    return outgoing_queue(outgoing=outgoing)


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def _text(mail: email.message.EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content().replace("\r\n", "\n")


def _sent_uid(dovecot, setup) -> tuple[int, int]:
    uids = dovecot.uids(setup.imap_user, "Sent")
    assert len(uids) == 1, uids
    return dovecot.uidvalidity(setup.imap_user, "Sent"), uids[0]


def _fetch(dovecot, setup, uid) -> tuple[bytes, tuple]:
    with dovecot.connect(setup.imap_user) as imap:
        imap.select_folder("Sent", readonly=True)
        data = imap.fetch([uid], [b"RFC822", b"FLAGS"])[uid]
    return data[b"RFC822"], data[b"FLAGS"]


def _expire_lease(outgoing: Outgoing) -> None:
    Outgoing.objects.filter(pk=outgoing.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )


# --- composing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Absence de Léa", "Re: Absence de Léa"),
        ("Re: Absence de Léa", "Re: Absence de Léa"),
        ("RE : Absence de Léa", "RE : Absence de Léa"),
        ("AW: Termin", "AW: Termin"),
        ("Réf. : dossier 12", "Réf. : dossier 12"),
        ("Fwd: Absence", "Re: Fwd: Absence"),
        ("", "Re:"),
    ],
)
def test_reply_subject_is_never_doubled(subject, expected):
    assert compose.reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Facture", "Fwd: Facture"),
        ("Fwd: Facture", "Fwd: Facture"),
        ("TR : Facture", "TR : Facture"),
        ("Fw: Facture", "Fw: Facture"),
        ("Re: Facture", "Fwd: Re: Facture"),
    ],
)
def test_forward_subject_is_never_doubled(subject, expected):
    assert compose.forward_subject(subject) == expected


def _original(**overrides) -> compose.Original:
    values = {
        "subject": "Inscription",
        "from_": {"name": "Sophie", "address": "sophie@exemple.fr"},
        "to": [{"name": "", "address": SHARED}],
        "cc": [],
        "reply_to": [],
        "message_id": "<m@exemple.fr>",
        "in_reply_to": "",
        "references": (),
        "date": timezone.now(),
        "text": "Bonjour",
    }
    values.update(overrides)
    return compose.Original(**values)


def test_references_are_trimmed_to_the_root_and_the_latest():
    chain = tuple(f"<r{i}@exemple.fr>" for i in range(40))
    refs = compose.references_for(_original(references=chain))
    assert len(refs) == compose.MAX_REFERENCES
    assert refs[0] == "<r0@exemple.fr>"  # the thread's root stays
    assert refs[-1] == "<m@exemple.fr>"  # the answered message is last
    assert refs[-2] == "<r39@exemple.fr>"


def test_references_fall_back_on_in_reply_to():
    refs = compose.references_for(_original(in_reply_to="<parent@exemple.fr>"))
    assert refs == ["<parent@exemple.fr>", "<m@exemple.fr>"]


def test_reply_to_our_own_message_goes_back_to_its_recipients():
    ours = _original(
        from_={"name": "Scolarité", "address": SHARED},
        to=[{"name": "Sophie", "address": "sophie@exemple.fr"}],
        cc=[{"name": "", "address": "paul@exemple.fr"}],
    )
    to, cc = compose.reply_recipients(ours, mailbox_address=SHARED, reply_all=True)
    assert [a["address"] for a in to] == ["sophie@exemple.fr"]
    assert [a["address"] for a in cc] == ["paul@exemple.fr"]


def test_quote_header_in_french(settings):
    settings.TIME_ZONE = "Europe/Paris"
    original = _original(
        date=timezone.datetime(2026, 11, 12, 9, 15, tzinfo=timezone.UTC),
        from_={"name": "Sophie", "address": "sophie@exemple.fr"},
    )
    with translation.override("fr"):
        header = compose.quote_header(original)
    # Month and time from Django's French formats; the sentence from our catalogue.
    assert "12 nov. 2026" in header
    assert "10:15" in header
    assert "Sophie" in header
    with translation.override("en"):
        assert compose.quote_header(original) == "On 12 Nov. 2026 at 10:15, Sophie wrote:"


def test_bad_addresses_are_refused_in_words(setup, alice):
    customer = _receive(setup)
    with pytest.raises(ValidationError) as error:
        outgoing_create(
            mailbox=setup.mailbox,
            conversation=customer.conversation,
            author=alice,
            kind=OutgoingKind.REPLY,
            to=["sophie@@exemple"],
            reply_to_message=customer,
        )
    assert "sophie@@exemple" in error.value.messages[0]
    outgoing = outgoing_create(
        mailbox=setup.mailbox, conversation=None, author=alice, kind=OutgoingKind.NEW, to=[]
    )
    with pytest.raises(ValidationError):
        outgoing_queue(outgoing=outgoing)
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.DRAFT


# --- sending ---------------------------------------------------------------------------------


def test_reply_is_sent_threaded_and_filed_in_sent_once(
    setup, english, smtp_server, dovecot, django_capture_on_commit_callbacks, tasks, settings
):
    customer = _receive(setup)
    with django_capture_on_commit_callbacks(execute=True):
        outgoing = _reply(setup, english, customer)
    assert outgoing.state == SendState.QUEUED
    assert tasks == [(outgoing.pk, None)]  # queued once the transaction committed

    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.mail_from == SHARED
    assert received.rcpt_tos == ("s.martin@bureau.exemple.fr",)  # Reply-To wins over From
    mail = _parsed(received.raw)
    assert mail["From"].addresses[0].addr_spec == SHARED
    assert mail["From"].addresses[0].display_name == "Scolarité Lycée Jules Verne"
    assert OUR_ID.match(mail["Message-ID"])
    assert mail["In-Reply-To"] == "<absence-lea-1@exemple.fr>"
    assert mail["References"].split() == ["<rentree@lycee-verne.fr>", "<absence-lea-1@exemple.fr>"]
    assert mail["Subject"] == "Re: Absence de Léa le 12 novembre"
    assert "Bcc" not in mail
    assert mail["Date"].datetime is not None
    text = _text(mail)
    assert text.startswith("Bonjour Madame,\n\nC’est noté, merci.\n")
    assert "On 12 Nov. 2026 at 10:15, Sophie Martin wrote:" in text
    assert "> Léa sera absente jeudi pour un rendez-vous médical." in text

    outgoing.refresh_from_db()
    assert outgoing.state == SendState.SENT
    assert outgoing.attempts == 1
    assert outgoing.sent_at is not None and outgoing.lease_until is None
    assert outgoing.last_error == ""
    keys = keys_for(setup.mailbox.workspace)
    assert outgoing.message_id_token == sending.message_id_token(keys, mail["Message-ID"])

    # Exactly one copy in Sent, \Seen, the same bytes that left; its APPENDUID is the key.
    uidvalidity, uid = _sent_uid(dovecot, setup)
    filed_raw, flags = _fetch(dovecot, setup, uid)
    assert filed_raw == received.raw
    assert b"\\Seen" in flags
    message = outgoing.message
    assert message.provider_key == f"{setup.sent.pk}:{uidvalidity}:{uid}"
    assert message.folder_id == setup.sent.pk
    assert message.conversation_id == customer.conversation_id
    assert message.thread_reason == ThreadReason.OUTBOUND
    assert message.direction == Direction.OUTBOUND
    assert message.is_seen
    customer.conversation.refresh_from_db()
    assert customer.conversation.message_count == 2

    # The Sent sync fetching that UID later adds nothing.
    again = ingest_batch(
        mailbox=setup.mailbox,
        folder=setup.sent,
        mails=[RawMail(provider_key=f"{setup.sent.pk}:{uidvalidity}:{uid}", raw=filed_raw)],
    )
    assert (again.created, again.skipped) == (0, 1)
    assert Message.objects.filter(mailbox=setup.mailbox).count() == 2

    # Sending it again is a no-op: it is no longer queued.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert len(smtp_server.messages) == 1

    # Content at rest is sealed: neither the draft row nor the stored MIME shows it.
    assert "noté".encode() not in bytes(outgoing.content_sealed)
    for path in Path(settings.DATA_DIR, "objects").rglob("*.obj"):
        assert b"Absence de L" not in path.read_bytes()


def test_reply_all_recipients_are_deduplicated_without_ourselves(setup, english, smtp_server):
    customer = _receive(setup)
    outgoing = _reply(
        setup, english, customer, kind=OutgoingKind.REPLY_ALL, bcc=["archives@lycee-verne.fr"]
    )
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    received = smtp_server.messages[0]
    mail = _parsed(received.raw)
    to = [a.addr_spec for a in mail["To"].addresses]
    cc = [a.addr_spec for a in mail["Cc"].addresses]
    assert to == ["s.martin@bureau.exemple.fr"]
    # The author (behind Reply-To), then To and Cc: Paul once, the shared address never.
    assert cc == ["sophie.martin@exemple.fr", "paul.martin@exemple.fr", "direction@lycee-verne.fr"]
    assert "Bcc" not in mail
    assert sorted(received.rcpt_tos) == sorted([*to, *cc, "archives@lycee-verne.fr"])
    assert SHARED not in {r.lower() for r in received.rcpt_tos}


def test_forward_carries_the_original_attachment(setup, english, smtp_server, dovecot):
    raw = (FIXTURES / "en_supplier_invoice_with_pdf.eml").read_bytes()
    customer = _receive(setup, raw)
    original = parse_message(raw)
    pdf = next(a for a in original.attachments if a.filename.endswith(".pdf"))

    outgoing = outgoing_create(
        mailbox=setup.mailbox,
        conversation=customer.conversation,
        author=english,
        kind=OutgoingKind.FORWARD,
        to=["Cabinet Comptable <compta@cabinet-exemple.fr>"],
        body="Pour le paiement, merci.",
        reply_to_message=customer,
    )
    outgoing_queue(outgoing=outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT

    received = smtp_server.messages[0]
    assert received.rcpt_tos == ("compta@cabinet-exemple.fr",)
    mail = _parsed(received.raw)
    assert mail["Subject"] == f"Fwd: {original.subject}"
    assert mail["In-Reply-To"] is None  # a forward answers no one
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == [pdf.filename]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == pdf.payload
    text = _text(mail)
    assert "---------- Forwarded message ----------" in text
    assert "Please find attached invoice INV-2024-0917" in text
    # Filed in Sent and in the conversation, with its attachment.
    outgoing.refresh_from_db()
    assert outgoing.message.attachments.count() == 1
    assert len(dovecot.uids(setup.imap_user, "Sent")) == 1


def test_new_message_starts_a_conversation(setup, english, smtp_server):
    outgoing = outgoing_create(
        mailbox=setup.mailbox,
        conversation=None,
        author=english,
        kind=OutgoingKind.NEW,
        to=["Parents de Léa <parents.lea@exemple.fr>"],
        subject="Réunion parents-professeurs",
        body="Bonjour,\n\nLa réunion aura lieu le 3 décembre.",
        signature="La scolarité\nLycée Jules Verne",
    )
    outgoing_queue(outgoing=outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    mail = _parsed(smtp_server.messages[0].raw)
    assert mail["Subject"] == "Réunion parents-professeurs"
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert "\n-- \nLa scolarité\nLycée Jules Verne\n" in _text(mail)
    outgoing.refresh_from_db()
    assert outgoing.conversation is not None
    assert outgoing.conversation == outgoing.message.conversation
    assert outgoing.conversation.message_count == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_exactly_once(setup, english, smtp_server, dovecot):
    customer = _receive(setup)
    outgoing = _reply(setup, english, customer)
    barrier = threading.Barrier(2)
    results: list = []
    errors: list = []

    def worker():
        from django.db import connection

        try:
            barrier.wait()
            results.append(outgoing_send(outgoing_id=outgoing.pk))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(results, key=str) == [None, SendState.SENT]
    assert len(smtp_server.messages) == 1
    assert len(dovecot.uids(setup.imap_user, "Sent")) == 1
    outgoing.refresh_from_db()
    assert outgoing.attempts == 1


class _WorkerKilled(BaseException):
    """The process dies: nothing after this point runs (no except clause catches it)."""


def _send_and_die_after_smtp(monkeypatch, outgoing):
    with monkeypatch.context() as patch:

        def killed(*args, **kwargs):
            raise _WorkerKilled

        patch.setattr(sending.delivery, "mark_sent", killed)
        with pytest.raises(_WorkerKilled):
            outgoing_send(outgoing_id=outgoing.pk)
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.SENDING


def test_worker_killed_after_smtp_is_found_in_sent_and_not_sent_again(
    setup, english, smtp_server, dovecot, monkeypatch
):
    customer = _receive(setup)
    outgoing = _reply(setup, english, customer)
    _send_and_die_after_smtp(monkeypatch, outgoing)
    assert len(smtp_server.messages) == 1

    # The broker redelivers the task (acks_late): the lease still runs, nothing is sent.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert outgoing_recover_stuck().confirmed_sent == 0
    # The provider saved its own copy in Sent, as many do.
    dovecot.append(setup.imap_user, "Sent", smtp_server.messages[0].raw, flags=[b"\\Seen"])

    _expire_lease(outgoing)
    result = outgoing_recover_stuck()

    assert (result.confirmed_sent, result.marked_failed) == (1, 0)
    assert len(smtp_server.messages) == 1  # never a second delivery
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.SENT
    uidvalidity, uid = _sent_uid(dovecot, setup)  # the provider's copy, not a second APPEND
    assert outgoing.message.provider_key == f"{setup.sent.pk}:{uidvalidity}:{uid}"
    assert outgoing.message.conversation_id == customer.conversation_id
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert len(smtp_server.messages) == 1


def test_worker_killed_after_smtp_without_a_copy_fails_and_waits_for_a_person(
    setup, english, smtp_server, dovecot, monkeypatch, tasks
):
    customer = _receive(setup)
    outgoing = _reply(setup, english, customer)
    _send_and_die_after_smtp(monkeypatch, outgoing)
    _expire_lease(outgoing)

    result = outgoing_recover_stuck()

    assert (result.confirmed_sent, result.marked_failed) == (0, 1)
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.FAILED
    with translation.override("en"):
        assert outgoing.last_error == interrupted_message()
    assert outgoing.message is None
    # Never retried on its own: no task, no claim, no second delivery.
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert outgoing_recover_stuck().marked_failed == 0
    assert len(smtp_server.messages) <= 1
    assert tasks == []
    assert dovecot.uids(setup.imap_user, "Sent") == []


def test_sent_but_not_filed_is_filed_by_the_recovery_once(
    setup, english, smtp_server, dovecot, monkeypatch
):
    customer = _receive(setup)
    outgoing = _reply(setup, english, customer)
    with monkeypatch.context() as patch:

        def killed(*args, **kwargs):
            raise _WorkerKilled

        patch.setattr(sending.delivery, "file_in_sent", killed)
        with pytest.raises(_WorkerKilled):
            outgoing_send(outgoing_id=outgoing.pk)
    outgoing.refresh_from_db()
    assert (outgoing.state, outgoing.message) == (SendState.SENT, None)
    _expire_lease(outgoing)

    assert outgoing_recover_stuck().filed == 1
    assert outgoing_recover_stuck().filed == 0
    outgoing.refresh_from_db()
    uidvalidity, uid = _sent_uid(dovecot, setup)
    assert outgoing.message.provider_key == f"{setup.sent.pk}:{uidvalidity}:{uid}"
    assert len(smtp_server.messages) == 1


def test_wrong_smtp_password_fails_in_words_and_retry_works_once_fixed(
    workspace, alice, dovecot, smtp_server, tasks
):
    setup = _mailbox(
        workspace,
        dovecot,
        smtp_port=smtp_server.port,
        smtp_username=smtp_server.username,
        smtp_password="not the password",
    )
    customer = _receive(setup)
    outgoing = _reply(setup, alice, customer)

    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.FAILED
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.FAILED
    assert "password" in outgoing.last_error or "mot de passe" in outgoing.last_error
    assert "not the password" not in outgoing.last_error
    assert smtp_server.messages == []
    assert outgoing_send(outgoing_id=outgoing.pk) is None  # failed is not retried on its own

    credentials = mailbox_credentials(setup.mailbox) | {"smtp_password": smtp_server.password}
    setup.mailbox.credentials_sealed = seal_json(
        keys_for(workspace),
        credentials,
        field="mailbox.credentials",
        row=mailbox_row(setup.mailbox.pk),
    )
    setup.mailbox.save(update_fields=["credentials_sealed"])
    outgoing_retry(outgoing=outgoing)
    assert outgoing.state == SendState.QUEUED
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert len(smtp_server.messages) == 1
    outgoing.refresh_from_db()
    assert outgoing.last_error == ""
    assert outgoing.attempts == 1  # counted again from a person's Retry
    assert outgoing.message.provider_key.startswith(f"{setup.sent.pk}:")
    with pytest.raises(OutgoingStateError):
        outgoing_retry(outgoing=outgoing)


def test_sent_folder_unreachable_still_records_the_reply(workspace, english, dovecot, smtp_server):
    setup = _mailbox_on(workspace, dovecot, smtp_server)
    Mailbox.objects.filter(pk=setup.mailbox.pk).update(imap_port=free_loopback_port())
    setup.mailbox.refresh_from_db()
    customer = _receive(setup)
    outgoing = _reply(setup, english, customer)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    outgoing.refresh_from_db()
    assert outgoing.message.provider_key == f"sent:{outgoing.pk}"
    assert outgoing.message.conversation_id == customer.conversation_id
    assert "Sent folder" in outgoing.last_error
    assert len(smtp_server.messages) == 1


# --- a server with opinions: 4xx and 5xx -----------------------------------------------------


class _Answering:
    """An SMTP server (no AUTH) that answers DATA or RCPT with what the test says."""

    def __init__(self) -> None:
        self.data_reply = "250 OK"
        self.rcpt_reply = "250 OK"
        self.accepted: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_reply

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply.startswith("250"):
            self.accepted.append(envelope.original_content)
        return self.data_reply


@pytest.fixture
def picky_smtp():
    handler = _Answering()
    controller = Controller(handler, hostname="127.0.0.1", port=free_loopback_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


def test_temporary_refusal_stays_queued_with_backoff(
    workspace, english, dovecot, picky_smtp, tasks, django_capture_on_commit_callbacks
):
    setup = _mailbox(workspace, dovecot, smtp_port=picky_smtp.port)
    customer = _receive(setup)
    outgoing = _reply(setup, english, customer)
    picky_smtp.data_reply = "451 4.3.0 Mailbox busy, try again"

    with django_capture_on_commit_callbacks(execute=True):
        assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.QUEUED
    assert "try again later" in outgoing.last_error and "451" in outgoing.last_error
    assert outgoing.lease_until > timezone.now() + timedelta(seconds=50)
    assert tasks[-1] == (outgoing.pk, 60)
    assert outgoing_send(outgoing_id=outgoing.pk) is None  # not due yet

    picky_smtp.data_reply = "250 OK"
    _expire_lease(outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert len(picky_smtp.accepted) == 1
    outgoing.refresh_from_db()
    assert outgoing.attempts == 2


def test_permanent_refusal_fails_and_names_the_recipient(workspace, english, dovecot, picky_smtp):
    setup = _mailbox(workspace, dovecot, smtp_port=picky_smtp.port)
    customer = _receive(setup)
    outgoing = _reply(setup, english, customer)
    picky_smtp.rcpt_reply = "550 5.1.1 No such user"
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.FAILED
    outgoing.refresh_from_db()
    assert "s.martin@bureau.exemple.fr" in outgoing.last_error
    assert "550" in outgoing.last_error


def test_permanent_recipient_refusal_is_explained(workspace, english, dovecot, picky_smtp):
    setup = _mailbox(workspace, dovecot, smtp_port=picky_smtp.port)
    outgoing = _reply(setup, english, _receive(setup))
    picky_smtp.rcpt_reply = "550 5.2.2 Mailbox full"
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.FAILED
    outgoing.refresh_from_db()
    assert "the recipient's mailbox is full" in outgoing.last_error


# --- transient failures: retried on a schedule for a day, delivered once ----------------------


@pytest.fixture
def clock(monkeypatch):
    """Django's clock, moved by the test (the database and the SMTP server are real)."""

    class Clock:
        now = timezone.now()

        def advance_to(self, when):
            self.now = max(self.now, when)

    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock


def _try_when_due(clock, outgoing: Outgoing) -> str | None:
    outgoing.refresh_from_db()
    if outgoing.lease_until:
        clock.advance_to(outgoing.lease_until)
    return outgoing_send(outgoing_id=outgoing.pk)


def test_451_is_retried_on_the_schedule_and_delivered_exactly_once(
    workspace, english, dovecot, smtp_server_busy, tasks, clock, django_capture_on_commit_callbacks
):
    smtp = smtp_server_busy  # 451 at the end of DATA three times, then 250
    setup = _mailbox_on(workspace, dovecot, smtp)
    outgoing = _reply(setup, english, _receive(setup))
    start = clock.now
    for expected_wait in (60, 120, 300):
        with django_capture_on_commit_callbacks(execute=True):
            assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
        outgoing.refresh_from_db()
        assert outgoing.state == SendState.QUEUED
        assert "451" in outgoing.last_error and "try again later" in outgoing.last_error
        assert outgoing.lease_until == clock.now + timedelta(seconds=expected_wait)
        assert tasks[-1] == (outgoing.pk, expected_wait)
        assert outgoing_send(outgoing_id=outgoing.pk) is None  # not before its time
        clock.advance_to(outgoing.lease_until)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert clock.now - start == timedelta(minutes=8)

    assert len(smtp.refused) == 3 and len(smtp.messages) == 1  # exactly once in the end
    assert {_parsed(raw)["Message-ID"] for raw in smtp.refused} == {
        _parsed(smtp.messages[0].raw)["Message-ID"]
    }  # every attempt carried the same message
    outgoing.refresh_from_db()
    assert outgoing.attempts == 4 and outgoing.last_error == ""
    assert len(dovecot.uids(setup.imap_user, "Sent")) == 1
    # Nothing sends it again: a late task, the beat sweep, a second worker.
    clock.advance_to(clock.now + timedelta(hours=2))
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert outgoing_recover_stuck().requeued == 0
    assert len(smtp.messages) == 1


def test_a_lost_retry_task_is_picked_up_by_the_beat_sweep(
    workspace, english, dovecot, smtp_server_busy, tasks, clock
):
    smtp = smtp_server_busy
    smtp.busy_times = 1
    setup = _mailbox_on(workspace, dovecot, smtp)
    outgoing = _reply(setup, english, _receive(setup))
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
    tasks.clear()  # the broker lost the countdown task
    outgoing.refresh_from_db()
    clock.advance_to(outgoing.lease_until)
    assert outgoing_recover_stuck().requeued == 0  # just due: its own task may still come
    clock.advance_to(outgoing.lease_until + sending.REQUEUE_AFTER + timedelta(seconds=1))
    assert outgoing_recover_stuck().requeued == 1
    assert tasks == [(outgoing.pk, None)]
    send_outgoing(outgoing.pk)  # what the worker runs for that task
    send_outgoing(outgoing.pk)  # and a duplicate of it, harmless
    assert len(smtp.messages) == 1
    assert Outgoing.objects.get(pk=outgoing.pk).state == SendState.SENT


def test_transient_failures_give_up_a_day_after_the_first_attempt(
    workspace, english, dovecot, smtp_server_busy, clock
):
    smtp = smtp_server_busy
    smtp.busy_times = 1000
    setup = _mailbox_on(workspace, dovecot, smtp)
    outgoing = _reply(setup, english, _receive(setup))
    start = clock.now
    waits, states = [], []
    while True:
        state = _try_when_due(clock, outgoing)
        states.append(state)
        if state != SendState.QUEUED:
            break
        outgoing.refresh_from_db()
        waits.append(outgoing.lease_until - clock.now)
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes[:6] == [1, 2, 5, 10, 30, 60] and set(minutes[5:]) == {60}
    assert states[-1] == SendState.FAILED
    assert clock.now - start <= timedelta(hours=24)
    outgoing.refresh_from_db()
    assert outgoing.attempts == len(smtp.refused) == 29
    assert "451" in outgoing.last_error  # the last reason, in words
    assert "tried 29 times over 24 hours" in outgoing.last_error
    assert smtp.messages == []
    # Only a person sends it again, with a new day of retries.
    smtp.busy_times = 0
    outgoing_retry(outgoing=outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
    assert len(smtp.messages) == 1


def test_550_fails_at_once_with_the_reason_in_words(
    workspace, alice, dovecot, smtp_server_busy, tasks, django_capture_on_commit_callbacks
):
    smtp = smtp_server_busy
    smtp.busy_times, smtp.busy_reply = 1, "550 5.7.1 Message rejected as spam"
    setup = _mailbox_on(workspace, dovecot, smtp)
    outgoing = _reply(setup, alice, _receive(setup))  # alice reads French
    with django_capture_on_commit_callbacks(execute=True):
        assert outgoing_send(outgoing_id=outgoing.pk) == SendState.FAILED
    outgoing.refresh_from_db()
    assert outgoing.state == SendState.FAILED and outgoing.lease_until is None
    assert "politique du serveur" in outgoing.last_error  # why, in her language
    assert "550 5.7.1 Message rejected as spam" in outgoing.last_error  # and the server's words
    assert "127.0.0.1" in outgoing.last_error  # which server said it
    assert tasks == []  # no retry scheduled
    assert outgoing_send(outgoing_id=outgoing.pk) is None
    assert len(smtp.refused) == 1 and smtp.messages == []


def test_smtp_server_down_then_up_is_retried_and_sent_once(
    workspace, english, dovecot, smtp_server_down, clock
):
    smtp = smtp_server_down
    setup = _mailbox_on(workspace, dovecot, smtp)
    outgoing = _reply(setup, english, _receive(setup))
    assert _try_when_due(clock, outgoing) == SendState.QUEUED
    assert _try_when_due(clock, outgoing) == SendState.QUEUED
    outgoing.refresh_from_db()
    assert "refused the connection" in outgoing.last_error
    smtp.start()
    assert _try_when_due(clock, outgoing) == SendState.SENT
    assert len(smtp.messages) == 1
    outgoing.refresh_from_db()
    assert outgoing.attempts == 3


def test_a_server_that_never_answers_is_retried_later(workspace, english, dovecot, monkeypatch):
    from inbox.mail import imap

    monkeypatch.setattr(imap, "TIMEOUT", 0.5)
    silent = socket.create_server(("127.0.0.1", 0))  # takes the connection, never says a word
    try:
        setup = _mailbox(workspace, dovecot, smtp_port=silent.getsockname()[1])
        outgoing = _reply(setup, english, _receive(setup))
        assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
    finally:
        silent.close()
    outgoing.refresh_from_db()
    assert "did not answer in time" in outgoing.last_error
    assert outgoing.lease_until > timezone.now()


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True),
        (smtplib.SMTPConnectError(421, b"Too many connections"), True),
        (smtplib.SMTPAuthenticationError(454, b"Temporary authentication failure"), True),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), True),
        (smtplib.SMTPAuthenticationError(535, b"Authentication credentials invalid"), False),
        (smtplib.SMTPConnectError(554, b"No SMTP service here"), False),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), False),
        (ssl.SSLCertVerificationError("certificate verify failed"), False),
        (ValueError("our own bug"), False),
        (None, False),
    ],
)
def test_failures_before_the_message_left_are_classified(error, transient):
    assert sending.is_transient(error) is transient


# --- workspaces stay apart ---------------------------------------------------------------------


def test_another_workspace_cannot_be_touched(setup, alice, charlie, dovecot, smtp_server):
    customer = _receive(setup)
    other = workspace_for(charlie, "Agence Ouest bis")
    theirs = _mailbox(other, dovecot, smtp_port=smtp_server.port, address="contact@agence-ouest.fr")
    their_message = _receive(theirs, CUSTOMER.replace(b"absence-lea-1", b"autre"))

    with pytest.raises(ValueError, match="conversation"):  # their mailbox, our conversation
        outgoing_create(
            mailbox=theirs.mailbox,
            conversation=customer.conversation,
            author=charlie,
            kind=OutgoingKind.NEW,
            to=["x@exemple.fr"],
        )
    with pytest.raises(ValueError, match="answered message"):  # our mailbox, their message
        outgoing_create(
            mailbox=setup.mailbox,
            conversation=None,
            author=alice,
            kind=OutgoingKind.REPLY,
            reply_to_message=their_message,
        )
    with pytest.raises(ValueError, match="member"):  # charlie writing from alice's mailbox
        outgoing_create(
            mailbox=setup.mailbox,
            conversation=customer.conversation,
            author=charlie,
            kind=OutgoingKind.REPLY,
            reply_to_message=customer,
        )
    assert not Outgoing.objects.exists()
