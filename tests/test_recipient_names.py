"""Names and addresses in any script: shown decoded in the composer, encoded on the wire
(RFC 2047 names, IDNA domains, SMTPUTF8 only where the server offers it), sent through a real
SMTP server (aiosmtpd), filed in a real Dovecot and read back by the sync."""

import email
from email import policy

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from inbox.mail import compose
from inbox.mail.addresses import display_addresses
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.sending import outgoing_content, outgoing_create, outgoing_queue, outgoing_send
from inbox.mail.sync import mailbox_sync
from inbox.models import Direction, FolderRole, Message, Outgoing, OutgoingKind, SendState
from inbox.tasks import send_outgoing
from tests.mail import loopback_mailbox
from tests.parts.smtp import start_smtp_server

pytestmark = pytest.mark.django_db(transaction=True)

SHARED = "scolarite@lycee-verne.fr"

# As the demo's and many real messages arrive: the name RFC 2047-encoded.
ENCODED = (
    b"From: =?utf-8?q?Sophie_Lef=C3=A8vre?= <sophie.lefevre@orange.fr>\r\n"
    b"To: scolarite@lycee-verne.fr\r\n"
    b"Subject: =?utf-8?q?Absence_de_Lucas?=\r\n"
    b"Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    b"Message-ID: <absence-lucas@orange.fr>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Lucas sera absent jeudi.\r\n"
)

PEOPLE = [
    {"name": "Sophie Lefèvre", "address": "sophie.lefevre@orange.fr"},
    {"name": "Müller, Jürgen", "address": "j.mueller@bücher.de"},
    {"name": "山田 太郎", "address": "taro.yamada@example.jp"},
    {"name": "Zoé 🎉 Ngô", "address": "zoe@exemple.fr"},
]


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: calls.append(pk))
    return calls


@pytest.fixture
def imap_user(dovecot):
    return dovecot.add_user("scolarite")


@pytest.fixture
def mailbox(workspace, dovecot, smtp_server, imap_user):
    user, password = imap_user
    return loopback_mailbox(
        workspace, dovecot, smtp_server, user=user, password=password, address=SHARED
    )


def _receive(mailbox, raw=ENCODED, uid=1) -> Message:
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    key = f"{folder.pk}:1:{uid}"
    ingest_batch(mailbox=mailbox, folder=folder, mails=[RawMail(provider_key=key, raw=raw)])
    return Message.objects.get(mailbox=mailbox, provider_key=key)


def test_the_composer_shows_an_encoded_name_decoded(alice_client, mailbox):
    customer = _receive(mailbox)
    response = alice_client.post(
        reverse("composer_open", args=[customer.conversation.pk]),
        {"kind": "reply"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'value="Sophie Lefèvre &lt;sophie.lefevre@orange.fr&gt;"' in html
    assert "=?utf-8?" not in html.lower()
    # Saved back as shown, and sent: the name stays a name, never the encoded text.
    outgoing = Outgoing.objects.get(conversation=customer.conversation)
    alice_client.post(
        reverse("draft_save", args=[outgoing.pk]),
        {"to": "Sophie Lefèvre <sophie.lefevre@orange.fr>", "subject": "Re", "body": "Noté."},
        HTTP_HX_REQUEST="true",
    )
    outgoing.refresh_from_db()
    assert outgoing_content(outgoing)["to"] == [
        {"name": "Sophie Lefèvre", "address": "sophie.lefevre@orange.fr"}
    ]


def test_a_draft_saved_with_the_encoded_text_is_repaired():
    # What the old composer wrote back into drafts, or a name pasted from a raw header.
    typed = "=?utf-8?q?Sophie_Lef=C3=A8vre?= <Sophie.Lefevre@orange.fr>"
    assert compose.normalise_recipients(typed) == [
        {"name": "Sophie Lefèvre", "address": "sophie.lefevre@orange.fr"}
    ]


def test_names_read_back_as_they_were_typed():
    shown = display_addresses(PEOPLE)
    assert shown == (
        "Sophie Lefèvre <sophie.lefevre@orange.fr>, "
        '"Müller, Jürgen" <j.mueller@bücher.de>, '
        "山田 太郎 <taro.yamada@example.jp>, "
        "Zoé 🎉 Ngô <zoe@exemple.fr>"
    )
    assert compose.normalise_recipients(shown) == PEOPLE
    # A punycode domain is shown (and compared) in the form people know.
    assert compose.normalise_recipients("j@xn--bcher-kva.de") == [
        {"name": "", "address": "j@bücher.de"}
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        "=?utf-8?q?Evil=0D=0ABcc:_victim@exemple.fr?= <evil@exemple.fr>",
        "=?utf-8?b?RXZpbA0KQmNjOiB2aWN0aW1AZXhlbXBsZS5mcg==?= <evil@exemple.fr>",
        "=?x-unknown?q?Evil?= <evil@exemple.fr>",
    ],
)
def test_an_encoded_name_cannot_smuggle_a_header(hostile, mailbox):
    try:
        [person] = compose.normalise_recipients(hostile)
    except ValidationError:  # refused in words is as safe as cleaned
        return
    assert "\n" not in person["name"] and "\r" not in person["name"]
    msg = compose.compose_message(
        mailbox=mailbox,
        kind=OutgoingKind.NEW,
        to=[person],
        subject="x",
        body="x",
        message_id="<x@lycee-verne.fr>",
        date=timezone.now(),
    )
    parsed = email.message_from_bytes(compose.as_bytes(msg), policy=policy.default)
    assert parsed["Bcc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["evil@exemple.fr"]


def test_names_in_four_scripts_go_out_encoded_and_come_back_decoded(
    workspace, alice, mailbox, smtp_server, dovecot, imap_user
):
    customer = _receive(mailbox)
    outgoing = outgoing_create(
        mailbox=mailbox,
        conversation=customer.conversation,
        author=alice,
        kind=OutgoingKind.REPLY_ALL,
        to=PEOPLE[:2],
        cc=PEOPLE[2:],
        body="Bonjour à tous,\n\nC’est noté.",
        reply_to_message=customer,
    )
    outgoing_queue(outgoing=outgoing)
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT

    [sent] = smtp_server.messages
    # The envelope: IDNA domains, nothing that needs SMTPUTF8.
    assert set(sent.rcpt_tos) == {
        "sophie.lefevre@orange.fr",
        "j.mueller@xn--bcher-kva.de",
        "taro.yamada@example.jp",
        "zoe@exemple.fr",
    }
    headers = sent.raw.partition(b"\r\n\r\n")[0]
    assert headers.isascii()  # RFC 2047 words and punycode: any relay passes it unchanged
    assert b"=?utf-8?" in headers and b"@xn--bcher-kva.de" in headers
    parsed = email.message_from_bytes(sent.raw, policy=policy.default)
    received = [(a.display_name, a.addr_spec) for a in parsed["To"].addresses]
    received += [(a.display_name, a.addr_spec) for a in parsed["Cc"].addresses]
    assert received == [
        ("Sophie Lefèvre", "sophie.lefevre@orange.fr"),
        ("Müller, Jürgen", "j.mueller@xn--bcher-kva.de"),
        ("山田 太郎", "taro.yamada@example.jp"),
        ("Zoé 🎉 Ngô", "zoe@exemple.fr"),
    ]

    # The copy in Dovecot's Sent, read back by the sync: one message, the names decoded.
    user, _password = imap_user
    assert len(dovecot.uids(user, "Sent")) == 1
    mailbox_sync(mailbox_id=mailbox.pk, parallel=False)
    [filed] = Message.objects.filter(mailbox=mailbox, direction=Direction.OUTBOUND)
    original = compose.original_of(keys_for(workspace), filed)
    # Shown (and compared) as people wrote them, whatever form the parser kept the domain in.
    assert display_addresses([*original.to, *original.cc]) == display_addresses(PEOPLE)


def _international(workspace, alice, dovecot, server):
    user, password = dovecot.add_user("intl")
    mailbox = loopback_mailbox(
        workspace, dovecot, server, user=user, password=password, address="accueil@lycee-verne.fr"
    )
    outgoing = outgoing_create(
        mailbox=mailbox,
        conversation=None,
        author=alice,
        kind=OutgoingKind.NEW,
        to=[{"name": "José Núñez", "address": "josé@exemple.es"}],
        subject="Inscription",
        body="Bonjour",
    )
    outgoing_queue(outgoing=outgoing)
    return outgoing


def test_an_accented_local_part_needs_smtputf8_and_says_so(workspace, alice, dovecot, english):
    server = start_smtp_server()  # offers no SMTPUTF8, like many older servers
    try:
        outgoing = _international(workspace, alice, dovecot, server)
        assert outgoing_send(outgoing_id=outgoing.pk) == SendState.FAILED
        outgoing.refresh_from_db()
        assert "SMTPUTF8" in outgoing.last_error and "josé@exemple.es" in outgoing.last_error
        assert server.messages == []
    finally:
        server.stop()


def test_an_accented_local_part_goes_through_a_server_offering_smtputf8(workspace, alice, dovecot):
    server = start_smtp_server()
    server.stop()
    server.smtputf8 = True
    server.start()
    try:
        outgoing = _international(workspace, alice, dovecot, server)
        assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT
        [sent] = server.messages
        assert sent.rcpt_tos == ("josé@exemple.es",)
        # RFC 6532: the headers are UTF-8 as they are (the stdlib reads them from text).
        parsed = email.message_from_string(sent.raw.decode("utf-8"), policy=policy.default)
        [to] = parsed["To"].addresses
        assert (to.display_name, to.addr_spec) == ("José Núñez", "josé@exemple.es")
    finally:
        server.stop()


@pytest.fixture
def english(alice):
    alice.language = "en"
    alice.save(update_fields=["language"])
    return alice
