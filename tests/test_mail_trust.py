"""Attacks on the mail connections, tried against the real Dovecot and SMTP server.

A saved password leaving for another host, the private-address block bypassed (loopback
names, IPv4 inside IPv6, DNS rebinding), and passwords sent in clear across the network.
"""

import socket
import threading
from contextlib import closing

import pytest
from django.urls import reverse
from django.utils import translation

from inbox.actions.mailboxes import mailbox_update_servers
from inbox.mail.health import mailbox_health
from inbox.mail.idle import IdleWatcher, watch_mailbox
from inbox.mail.imap import (
    MailServerError,
    ServerSettings,
    SettingsRefused,
    imap_connect,
    imap_settings,
    smtp_connect,
    smtp_settings,
)
from inbox.mail.mailboxes import mailbox_create, mailbox_credentials
from inbox.mail.providers import ProviderError
from inbox.mail.providers.api import Api
from inbox.mail.providers.quota import Quota
from inbox.mail.sync import mailbox_sync, mailboxes_due
from inbox.models import Mailbox, SyncState

ADDRESS = "accueil@lycee-verne.fr"
SECRET = "Stored-Secret-41d9a7"
PUBLIC_IP = "93.184.216.34"  # a public address: nothing is ever sent to it in these tests

_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(autouse=True)
def _english(alice):
    alice.language = "en"
    alice.save(update_fields=["language"])
    with translation.override("en"):  # sentences raised outside a request, too
        yield


class CapturingServer:
    """An attacker's IMAP server on loopback: greets, says OK to anything, keeps every byte."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.received = b""
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _peer = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with closing(conn):
                conn.settimeout(5)
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
                try:
                    while chunk := conn.recv(4096):
                        self.received += chunk
                        for line in chunk.split(b"\r\n"):
                            if line:
                                tag = line.split(b" ", 1)[0]
                                conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def attacker():
    server = CapturingServer()
    yield server
    server.close()


@pytest.fixture
def saved(workspace, dovecot, smtp_server, settings):
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = True
    username, _password = dovecot.add_user("accueil", SECRET)
    return mailbox_create(
        workspace=workspace,
        address=ADDRESS,
        credentials={
            "imap_password": SECRET,
            "smtp_password": smtp_server.password,
            "bound_to": {
                "imap": [dovecot.host, dovecot.port, username],
                "smtp": [smtp_server.host, smtp_server.port, smtp_server.username],
            },
        },
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=username,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_username=smtp_server.username,
    )


def _edit_data(mailbox: Mailbox, **changes) -> dict:
    data = {
        "address": mailbox.address,
        "name": "",
        "imap_host": mailbox.imap_host,
        "imap_port": mailbox.imap_port,
        "imap_security": mailbox.imap_security,
        "imap_username": mailbox.imap_username,
        "imap_password": "",
        "smtp_host": mailbox.smtp_host,
        "smtp_port": mailbox.smtp_port,
        "smtp_security": mailbox.smtp_security,
        "smtp_username": mailbox.smtp_username,
        "smtp_password": "",
        "action": "test",
    }
    data.update(changes)
    return data


def _resolve(monkeypatch, answers: dict[str, list[str]]) -> None:
    """`answers[name]`: the address each successive lookup of `name` gets (the last one
    then sticks), as a DNS server under an attacker's control would answer."""

    def fake(host, port, *args, **kwargs):
        if host not in answers:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port or 0, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", fake)


# --- 1. a stored password never leaves for another host -------------------------------------


@pytest.mark.parametrize("changed", ["host", "port", "username"])
@pytest.mark.parametrize("action", ["test", "save"])
def test_edit_to_another_server_asks_for_the_password_and_sends_nothing(
    alice_client, saved, attacker, changed, action
):
    changes = {
        "host": {"imap_host": "localhost", "imap_port": attacker.port},
        "port": {"imap_port": attacker.port},
        "username": {"imap_username": "attacker"},
    }[changed]
    url = reverse("mailbox_edit", args=[saved.pk])
    response = alice_client.post(url, _edit_data(saved, action=action, **changes))
    assert response.status_code == 200
    errors = response.context["form"].errors["imap_password"]
    assert "enter the password again" in errors[0]
    assert response.context["report"] is None  # no connection test was run
    assert SECRET.encode() not in attacker.received and attacker.connections == 0
    saved.refresh_from_db()
    assert mailbox_credentials(saved)["bound_to"]["imap"][1] == saved.imap_port
    assert saved.imap_username != "attacker"


def test_credentials_saved_before_binding_are_bound_to_the_saved_columns(
    alice_client, saved, attacker
):
    """Credentials sealed before passwords were bound carry no binding: the mailbox's
    columns as saved stand for it, so moving the host still asks for the password."""
    credentials = mailbox_credentials(saved)
    del credentials["bound_to"]
    mailbox_update_servers(
        mailbox=saved, name="", credentials=credentials, server_fields={}, report=None
    )
    url = reverse("mailbox_edit", args=[saved.pk])
    response = alice_client.post(url, _edit_data(saved, imap_port=attacker.port))
    assert "enter the password again" in response.context["form"].errors["imap_password"][0]
    assert attacker.connections == 0
    response = alice_client.post(url, _edit_data(saved))  # unchanged: the saved one is used
    assert response.context["report"].ok


def test_smtp_changed_needs_the_smtp_password_again(alice_client, saved, attacker):
    response = alice_client.post(
        reverse("mailbox_edit", args=[saved.pk]), _edit_data(saved, smtp_port=attacker.port)
    )
    assert "enter the password again" in response.context["form"].errors["smtp_password"][0]
    assert "imap_password" not in response.context["form"].errors
    assert attacker.connections == 0


def test_unchanged_settings_keep_the_saved_password_and_it_works(alice_client, saved):
    response = alice_client.post(reverse("mailbox_edit", args=[saved.pk]), _edit_data(saved))
    report = response.context["report"]
    assert report is not None and report.ok, report and report.error


def test_password_typed_again_may_go_to_the_new_server(alice_client, saved, attacker):
    typed = "typed-for-the-new-server"
    alice_client.post(
        reverse("mailbox_edit", args=[saved.pk]),
        _edit_data(saved, imap_port=attacker.port, imap_password=typed),
    )
    assert typed.encode() in attacker.received and SECRET.encode() not in attacker.received


@pytest.mark.parametrize("protocol", ["imap", "smtp"])
def test_columns_changed_behind_the_form_stop_sync_and_sending(saved, attacker, protocol):
    """The host changed in the database (an admin tool, a restored row): the sealed binding
    still refuses, so the saved password is never sent there."""
    Mailbox.objects.filter(pk=saved.pk).update(**{f"{protocol}_port": attacker.port})
    saved.refresh_from_db()
    credentials = mailbox_credentials(saved)
    connect = imap_connect if protocol == "imap" else smtp_connect

    server = (imap_settings if protocol == "imap" else smtp_settings)(saved, credentials)
    with pytest.raises(SettingsRefused, match="enter the password again"):
        connect(server)
    if protocol == "imap":
        summary = mailbox_sync(mailbox_id=saved.pk)
        assert not summary.ok
        saved.refresh_from_db()
        assert saved.sync_state == SyncState.RECONNECT
        assert "enter the password again" in saved.last_error
    assert attacker.connections == 0 and SECRET.encode() not in attacker.received


# --- 2. the private-address block -----------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "::ffff:127.0.0.1", "::127.0.0.1", "[::1]", "10.0.0.8"]
)
def test_private_addresses_are_refused_in_the_form(alice_client, dovecot, settings, host):
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = False
    data = {
        "address": ADDRESS,
        "imap_host": host,
        "imap_port": dovecot.tls_port,
        "imap_security": "tls",
        "imap_password": "x",
        "smtp_host": host,
        "smtp_security": "tls",
        "action": "test",
    }
    response = alice_client.post(reverse("mailbox_add"), data)
    errors = response.context["form"].errors
    assert "private or local network address" in errors["imap_host"][0]
    if host == "localhost":
        assert "127.0.0.1" not in errors["imap_host"][0]  # no internal address told
    assert response.context["report"] is None


@pytest.mark.parametrize("address", ["127.0.0.1", "::ffff:127.0.0.1", "::127.0.0.1"])
def test_every_connection_checks_again_what_the_name_resolves_to(
    dovecot, settings, monkeypatch, address
):
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = False
    username, password = dovecot.add_user("rebind")
    _resolve(monkeypatch, {"mail.rebind.test": [address]})
    server = ServerSettings("mail.rebind.test", dovecot.port, "starttls", username, password)
    with pytest.raises(SettingsRefused, match="private or local network address"):
        imap_connect(server)
    assert f"user=<{username}>" not in dovecot.log_text()


def test_dns_rebinding_between_the_form_and_the_connection_never_reaches_dovecot(
    alice_client, dovecot, smtp_server, settings, monkeypatch
):
    """Public when the form looks, loopback when the connection test resolves again."""
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = False
    username, password = dovecot.add_user("rebound")
    _resolve(
        monkeypatch,
        {"imap.rebind.test": [PUBLIC_IP, "127.0.0.1"], "smtp.rebind.test": [PUBLIC_IP, "::1"]},
    )
    data = {
        "address": ADDRESS,
        "imap_host": "imap.rebind.test",
        "imap_port": dovecot.port,
        "imap_security": "starttls",
        "imap_username": username,
        "imap_password": password,
        "smtp_host": "smtp.rebind.test",
        "smtp_port": smtp_server.port,
        "smtp_security": "starttls",
        "action": "save",
        "save_anyway": "on",
    }
    response = alice_client.post(reverse("mailbox_add"), data)
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(address=ADDRESS)
    assert "private or local network address" in mailbox.last_error
    assert f"user=<{username}>" not in dovecot.log_text()
    # The sync and IDLE resolve again, and check again.
    summary = mailbox_sync(mailbox_id=mailbox.pk)
    assert not summary.ok and "private or local network address" in summary.error
    watch_mailbox(mailbox.pk, threading.Event())  # returns at once: nothing to retry
    assert f"user=<{username}>" not in dovecot.log_text()
    assert not smtp_server.messages


def test_tls_is_verified_against_the_name_not_the_address(dovecot, settings, monkeypatch, tmp_path):
    """Pinned to 127.0.0.1, TLS still checks the certificate against the name given: a
    name the certificate is not for fails, `localhost` (in the certificate) works."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(dovecot.cert_pem)
    settings.TRUPEO_EXTRA_CA_FILE = str(ca_file)
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = True
    username, password = dovecot.add_user("pinned")
    _resolve(monkeypatch, {"imap.elsewhere.test": ["127.0.0.1"]})

    with pytest.raises(MailServerError, match="could not be verified"):
        imap_connect(
            ServerSettings("imap.elsewhere.test", dovecot.tls_port, "tls", username, password)
        )
    client = imap_connect(ServerSettings("localhost", dovecot.tls_port, "tls", username, password))
    client.logout()


def test_closed_and_blocked_private_ports_read_the_same(settings):
    """No port map of the server's own network: an open, a closed port read alike."""
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = False
    open_port = socket.socket()
    open_port.bind(("127.0.0.1", 0))
    open_port.listen()
    with closing(open_port):
        port = open_port.getsockname()[1]
        messages = set()
        for candidate in (port, 1):
            with pytest.raises(SettingsRefused) as caught:
                imap_connect(ServerSettings("127.0.0.1", candidate, "tls", "u", "p"))
            messages.add(str(caught.value))
    assert len(messages) == 1


# --- 3. no password in clear across the network ---------------------------------------------


def test_unencrypted_to_a_remote_host_is_refused_in_the_form(alice_client, monkeypatch, settings):
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = True
    _resolve(monkeypatch, {"imap.public.test": [PUBLIC_IP], "smtp.public.test": [PUBLIC_IP]})
    data = {
        "address": ADDRESS,
        "imap_host": "imap.public.test",
        "imap_security": "none",
        "imap_password": "x",
        "smtp_host": "smtp.public.test",
        "smtp_security": "none",
        "action": "test",
    }
    response = alice_client.post(reverse("mailbox_add"), data)
    errors = response.context["form"].errors
    for field in ("imap_host", "smtp_host"):
        assert "in clear. Choose TLS or STARTTLS." in errors[field][0]
    assert response.context["report"] is None


def test_unencrypted_to_loopback_still_works(dovecot, settings):
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = True
    username, password = dovecot.add_user("local")
    imap_connect(ServerSettings("127.0.0.1", dovecot.port, "none", username, password)).logout()


def test_a_mailbox_saved_unencrypted_to_a_remote_host_stops_and_says_so(
    alice_client, saved, monkeypatch, smtp_server
):
    _resolve(monkeypatch, {"imap.public.test": [PUBLIC_IP], "smtp.public.test": [PUBLIC_IP]})
    # As saved before the rule: plaintext to a host on the network (bindings follow).
    credentials = mailbox_credentials(saved)
    credentials["bound_to"]["imap"][0] = "imap.public.test"
    credentials["bound_to"]["smtp"][0] = "smtp.public.test"
    Mailbox.objects.filter(pk=saved.pk).update(
        imap_host="imap.public.test", smtp_host="smtp.public.test"
    )
    saved.refresh_from_db()

    mailbox_update_servers(
        mailbox=saved, name="", credentials=credentials, server_fields={}, report=None
    )
    summary = mailbox_sync(mailbox_id=saved.pk)
    assert not summary.ok
    saved.refresh_from_db()
    assert saved.sync_state == SyncState.RECONNECT
    assert "would send the password" in saved.last_error
    assert "Choose TLS or STARTTLS" in saved.last_error
    health = mailbox_health(saved, saved.last_error_at)
    assert health.level == "failing" and health.error_is_current
    page = alice_client.get(reverse("mailboxes")).text
    assert "Sync is stopped until this mailbox is reconnected" in page
    assert "Choose TLS or STARTTLS" in page
    assert saved.pk not in mailboxes_due()  # stopped until an admin reconnects it
    assert saved.pk not in IdleWatcher().wanted()

    with pytest.raises(SettingsRefused, match="in clear"):
        smtp_connect(smtp_settings(saved, mailbox_credentials(saved)))


# --- OAuth: an access token only goes to the provider's API ---------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:{port}/v1.0/me/messages/delta",
        "https://graph.microsoft.com.evil.test/v1.0/me",
        "https://graph.microsoft.com@127.0.0.1:{port}/v1.0/me",
    ],
)
def test_a_provider_link_to_another_server_gets_no_token(attacker, link):
    """A Graph next/delta link (kept in the sync cursor) pointing elsewhere is refused
    before any request: the bearer token never leaves for it."""

    api = Api(
        base_url="https://graph.microsoft.com",
        label="Microsoft 365",
        token=lambda _force: "secret-access-token",
        quota=Quota(limit=100, window=1),
    )
    with pytest.raises(ProviderError, match="link to another server"):
        api.call("GET", link.format(port=attacker.port))
    assert attacker.connections == 0
    assert api.url("https://graph.microsoft.com/v1.0/me/delta?x=1").endswith("x=1")
