"""The real parts work: a Dovecot IMAP server and an SMTP submission server on loopback."""

from __future__ import annotations

import smtplib
import ssl
import threading
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from inbox.mail.parsing import parse_message
from tests.parts import REQUIRE_ALL_PARTS_ENV, require_part

if TYPE_CHECKING:  # the fixtures themselves come from tests/conftest.py
    from tests.parts.dovecot import DovecotServer
    from tests.parts.smtp import SmtpServer

RAW = (
    b"From: Sophie Lefevre <sophie.lefevre@example.fr>\r\n"
    b"To: scolarite@ecole.example\r\n"
    b"Subject: Absence de Lea\r\n"
    b"Message-ID: <absence-1@example.fr>\r\n"
    b"\r\n"
    b"Lea sera absente lundi.\r\n"
)


# --- require_part --------------------------------------------------------------------------


def test_missing_part_skips_on_a_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ALL_PARTS_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="'dovecot' unavailable: not installed"):
        require_part("dovecot", "not installed")


def test_missing_part_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ALL_PARTS_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        require_part("dovecot", "not installed")


# --- Dovecot -------------------------------------------------------------------------------


def test_append_then_fetch_over_plain_imap(dovecot: DovecotServer) -> None:
    user, _ = dovecot.add_user("alice")
    uid = dovecot.append(user, "INBOX", RAW, flags=[b"\\Seen"])
    with dovecot.connect(user) as imap:
        imap.select_folder("INBOX", readonly=True)
        fetched = imap.fetch([uid], [b"RFC822", b"FLAGS"])[uid]
    assert fetched[b"RFC822"] == RAW
    assert b"\\Seen" in fetched[b"FLAGS"]


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_login_over_verified_tls(dovecot: DovecotServer, security: str) -> None:
    user, _ = dovecot.add_user("tls")
    with dovecot.connect(user, security) as imap:  # type: ignore[arg-type]
        assert isinstance(imap.socket(), ssl.SSLSocket)
        assert imap.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0


def test_tls_certificate_is_checked(dovecot: DovecotServer) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(dovecot.host, dovecot.tls_port, ssl=True, timeout=5)  # system CAs only


def test_wrong_password_is_refused(dovecot: DovecotServer) -> None:
    user, _ = dovecot.add_user("wrong")
    imap = dovecot.client()
    with pytest.raises(LoginError):
        imap.login(user, "not-the-password")
    imap.shutdown()


def test_users_are_isolated_and_fresh(dovecot: DovecotServer) -> None:
    first, _ = dovecot.add_user("same")
    second, _ = dovecot.add_user("same")
    assert first != second
    dovecot.append(first, "INBOX", RAW)
    assert dovecot.uids(second, "INBOX") == []


def test_condstore_qresync_and_modseq(dovecot: DovecotServer) -> None:
    user, _ = dovecot.add_user("condstore")
    uid = dovecot.append(user, "INBOX", RAW)
    with dovecot.connect(user) as imap:
        capabilities = imap.capabilities()
        assert {b"CONDSTORE", b"QRESYNC", b"IDLE", b"UIDPLUS"} <= set(capabilities)
        imap.enable("CONDSTORE")
        before = imap.select_folder("INBOX")[b"HIGHESTMODSEQ"]
    dovecot.set_flags(user, "INBOX", uid, [b"\\Flagged"])
    with dovecot.connect(user) as imap:
        imap.enable("CONDSTORE")
        after = imap.select_folder("INBOX")[b"HIGHESTMODSEQ"]
        changed = imap.fetch([uid], [b"FLAGS"], modifiers=[f"CHANGEDSINCE {before}"])
    assert after > before
    assert changed[uid][b"FLAGS"] == (b"\\Flagged",)


def test_expunge_removes_the_message(dovecot: DovecotServer) -> None:
    user, _ = dovecot.add_user("expunge")
    kept = dovecot.append(user, "INBOX", RAW)
    gone = dovecot.append(user, "INBOX", RAW)
    dovecot.expunge(user, "INBOX", gone)
    assert dovecot.uids(user, "INBOX") == [kept]


def test_special_use_folders_exist(dovecot: DovecotServer) -> None:
    user, _ = dovecot.add_user("folders")
    dovecot.create_folder(user, "Archives/2024")
    dovecot.append(user, "Archives/2024", RAW)
    with dovecot.connect(user) as imap:
        flags_by_name = {name: flags for flags, _, name in imap.list_folders()}
    assert b"\\Sent" in flags_by_name["Sent"]
    assert b"\\Trash" in flags_by_name["Trash"]
    assert "Archives/2024" in flags_by_name


def test_idle_wakes_up_when_another_client_appends(dovecot: DovecotServer) -> None:
    user, _ = dovecot.add_user("idle")
    with dovecot.connect(user) as imap:
        imap.select_folder("INBOX")
        imap.idle()
        writer = threading.Timer(0.2, dovecot.append, args=(user, "INBOX", RAW))
        writer.start()
        try:
            responses = imap.idle_check(timeout=10)
        finally:
            imap.idle_done()
            writer.join()
    assert (1, b"EXISTS") in responses


@pytest.mark.parametrize("folder", ["INBOX", "Projets"])
def test_uidvalidity_change_renumbers_the_folder(dovecot: DovecotServer, folder: str) -> None:
    user, _ = dovecot.add_user("uidvalidity")
    if folder != "INBOX":
        dovecot.create_folder(user, folder)
    old_uids = [dovecot.append(user, folder, RAW, flags=[b"\\Seen"]) for _ in range(2)]
    old_validity = dovecot.uidvalidity(user, folder)

    new_validity = dovecot.change_uidvalidity(user, folder)

    assert new_validity != old_validity
    assert dovecot.uidvalidity(user, folder) == new_validity
    new_uids = dovecot.uids(user, folder)
    assert len(new_uids) == 2 and not set(new_uids) & set(old_uids)
    with dovecot.connect(user) as imap:
        imap.select_folder(folder, readonly=True)
        fetched = imap.fetch(new_uids, [b"RFC822", b"FLAGS"])
    assert all(data[b"RFC822"] == RAW and b"\\Seen" in data[b"FLAGS"] for data in fetched.values())


def test_uidvalidity_change_can_keep_uids(dovecot: DovecotServer) -> None:
    user, _ = dovecot.add_user("uidvalidity-keep")
    uid = dovecot.append(user, "INBOX", RAW)
    old_validity = dovecot.uidvalidity(user, "INBOX")
    assert dovecot.change_uidvalidity(user, "INBOX", renumber=False) != old_validity
    assert dovecot.uids(user, "INBOX") == [uid]


# --- SMTP ----------------------------------------------------------------------------------


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Scolarité <scolarite@ecole.example>"
    message["To"] = "sophie.lefevre@example.fr"
    message["Subject"] = "Re: Absence de Léa"
    message.set_content("Bien noté, bon rétablissement à Léa.")
    return message


def test_authenticated_mail_is_recorded_over_starttls(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.starttls(context=smtp_server.ssl_context())
        client.login(smtp_server.username, smtp_server.password)
        client.send_message(_message(), to_addrs=["sophie.lefevre@example.fr", "dir@ecole.example"])
    (received,) = smtp_server.messages
    assert received.mail_from == "scolarite@ecole.example"
    assert received.rcpt_tos == ("sophie.lefevre@example.fr", "dir@ecole.example")
    assert received.auth_user == smtp_server.username
    sent = parse_message(received.raw)
    assert sent.subject == "Re: Absence de Léa"
    assert sent.text.strip() == "Bien noté, bon rétablissement à Léa."


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_both_auth_mechanisms_work_without_tls(smtp_server: SmtpServer, mechanism: str) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.user, client.password = smtp_server.username, smtp_server.password
        authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
        code, _ = client.auth(mechanism, authobject, initial_response_ok=mechanism == "PLAIN")
        client.sendmail("scolarite@ecole.example", ["a@example.fr"], b"Subject: x\r\n\r\ny\r\n")
    assert code == 235
    assert len(smtp_server.messages) == 1


def test_mail_without_auth_is_refused(smtp_server: SmtpServer) -> None:
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        client.sendmail("scolarite@ecole.example", ["a@example.fr"], b"Subject: x\r\n\r\ny")
    assert refused.value.smtp_code == 530
    assert smtp_server.messages == []


def test_wrong_password_gets_535(smtp_server: SmtpServer) -> None:
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError) as refused,
    ):
        client.login(smtp_server.username, "wrong password")
    assert refused.value.smtp_code == 535


def test_rejecting_server_refuses_even_the_right_password(
    smtp_server_rejecting: SmtpServer,
) -> None:
    server = smtp_server_rejecting
    with (
        smtplib.SMTP(server.host, server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError) as refused,
    ):
        client.login(server.username, server.password)
    assert refused.value.smtp_code == 535
    assert server.messages == []
