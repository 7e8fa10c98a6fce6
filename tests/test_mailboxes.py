"""Connecting an IMAP + SMTP mailbox, against a real Dovecot and a real SMTP server.

The connection test must name what went wrong in words; passwords are sealed before they
reach the database and never come back to the page.
"""

from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from inbox.forms.mailboxes import ImapMailboxForm
from inbox.mail.imap import ServerSettings, describe, imap_connect
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import folder_name, mailbox_create, mailbox_credentials
from inbox.models import (
    Attachment,
    Conversation,
    FolderRole,
    Mailbox,
    Message,
    Provider,
    SyncState,
)
from tests.parts import free_loopback_port
from trupeo.storage import object_store

ADDRESS = "scolarite@lycee-verne.fr"
# Distinctive, so that finding it anywhere in a page or a blob means it leaked.
IMAP_SECRET = "Imap-Secret-7c1e5b93"


@pytest.fixture(autouse=True)
def _english_and_loopback(settings, alice):
    # Test servers live on 127.0.0.1, which the hosted form otherwise refuses.
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = True
    alice.language = "en"
    alice.save(update_fields=["language"])
    # And the sentences built outside a request (sync, connection test) read in English too.
    with translation.override("en"):
        yield


@pytest.fixture
def imap_account(dovecot):
    return dovecot.add_user("scolarite", IMAP_SECRET)


@pytest.fixture
def trust_test_servers(dovecot, smtp_server, settings, tmp_path):
    """TLS is verified as in production: the test servers' certificates become a CA file."""
    ca_file = tmp_path / "test-servers-ca.pem"
    ca_file.write_bytes(dovecot.cert_pem + smtp_server.cert_pem)
    settings.TRUPEO_EXTRA_CA_FILE = str(ca_file)
    return ca_file


def form_data(dovecot, smtp_server, imap_account, **changes) -> dict:
    username, password = imap_account
    data = {
        "address": ADDRESS,
        "name": "Scolarité",
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "imap_security": "none",
        "imap_username": username,
        "imap_password": password,
        "smtp_host": smtp_server.host,
        "smtp_port": smtp_server.port,
        "smtp_security": "none",
        "smtp_username": smtp_server.username,
        "smtp_password": smtp_server.password,
        "action": "test",
    }
    data.update(changes)
    return data


def passwords(credentials: dict) -> dict:
    return {k: v for k, v in credentials.items() if k.endswith("_password")}


def report_of(response) -> list[tuple[str, bool, str]]:
    report = response.context["report"]
    assert report is not None, "no connection test was run"
    return [(c.protocol, c.ok, c.message) for c in report.checks]


# --- the connection test ----------------------------------------------------------------


def test_connection_test_plain_succeeds_and_saves_nothing(
    alice_client, dovecot, smtp_server, imap_account
):
    response = alice_client.post(
        reverse("mailbox_add"), form_data(dovecot, smtp_server, imap_account)
    )
    assert response.status_code == 200
    (imap, imap_ok, imap_message), (smtp, smtp_ok, smtp_message) = report_of(response)
    assert (imap, imap_ok, smtp, smtp_ok) == ("IMAP", True, "SMTP", True)
    assert "the inbox holds 0 messages" in imap_message
    assert "Sent folder: “Sent”" in imap_message
    assert "replies can be sent" in smtp_message
    assert "The connection works" in response.text
    assert not Mailbox.objects.exists()


@pytest.mark.parametrize(
    ("imap_security", "smtp_security"), [("tls", "starttls"), ("starttls", "starttls")]
)
def test_connection_test_over_tls_with_the_extra_ca_file(
    alice_client,
    dovecot,
    smtp_server,
    imap_account,
    trust_test_servers,
    imap_security,
    smtp_security,
):
    port = dovecot.tls_port if imap_security == "tls" else dovecot.port
    data = form_data(
        dovecot,
        smtp_server,
        imap_account,
        imap_security=imap_security,
        imap_port=port,
        smtp_security=smtp_security,
    )
    response = alice_client.post(reverse("mailbox_add"), data)
    assert [(p, ok) for p, ok, _m in report_of(response)] == [("IMAP", True), ("SMTP", True)]


def test_tls_without_trusting_the_certificate_says_it_could_not_be_verified(
    alice_client, dovecot, smtp_server, imap_account
):
    data = form_data(
        dovecot, smtp_server, imap_account, imap_security="tls", imap_port=dovecot.tls_port
    )
    (_p, ok, message), _smtp = report_of(alice_client.post(reverse("mailbox_add"), data))
    assert not ok
    assert "certificate" in message and "could not be verified" in message


def test_wrong_password_names_the_login(alice_client, dovecot, smtp_server, imap_account):
    data = form_data(
        dovecot,
        smtp_server,
        imap_account,
        imap_password="not-the-password",
        smtp_password="not-the-password-either",
    )
    response = alice_client.post(reverse("mailbox_add"), data)
    (_i, imap_ok, imap_message), (_s, smtp_ok, smtp_message) = report_of(response)
    assert not imap_ok and not smtp_ok
    assert "IMAP login refused by 127.0.0.1" in imap_message
    assert "username and password" in imap_message
    assert "SMTP login refused by 127.0.0.1" in smtp_message
    assert "The connection does not work yet" in response.text
    assert "not-the-password" not in response.text


def test_closed_port_is_refused(alice_client, dovecot, smtp_server, imap_account):
    data = form_data(
        dovecot,
        smtp_server,
        imap_account,
        imap_port=free_loopback_port(),
        smtp_port=free_loopback_port(),
    )
    (_i, imap_ok, imap_message), (_s, smtp_ok, smtp_message) = report_of(
        alice_client.post(reverse("mailbox_add"), data)
    )
    assert not imap_ok and not smtp_ok
    assert "refused the connection" in imap_message
    assert "refused the connection" in smtp_message


def test_unknown_host_could_not_be_found(alice_client, dovecot, smtp_server, imap_account):
    data = form_data(
        dovecot,
        smtp_server,
        imap_account,
        imap_host="imap.lycee-verne.invalid",
        smtp_host="smtp.lycee-verne.invalid",
        imap_security="starttls",
        smtp_security="starttls",
    )
    (_i, imap_ok, imap_message), (_s, smtp_ok, smtp_message) = report_of(
        alice_client.post(reverse("mailbox_add"), data)
    )
    assert not imap_ok and not smtp_ok
    assert "imap.lycee-verne.invalid could not be found" in imap_message
    assert "smtp.lycee-verne.invalid could not be found" in smtp_message


def test_tls_on_the_plain_port_is_a_failed_handshake(
    alice_client, dovecot, smtp_server, imap_account, trust_test_servers
):
    data = form_data(
        dovecot, smtp_server, imap_account, imap_security="tls", imap_port=dovecot.port
    )
    (_i, imap_ok, imap_message), (_s, smtp_ok, _m) = report_of(
        alice_client.post(reverse("mailbox_add"), data)
    )
    assert not imap_ok and smtp_ok
    assert "TLS handshake with 127.0.0.1 failed" in imap_message


def test_a_missing_folder_is_named(dovecot, imap_account):
    username, password = imap_account
    client = imap_connect(ServerSettings(dovecot.host, dovecot.port, "none", username, password))
    try:
        with pytest.raises(Exception) as raised:
            client.select_folder("Archives 2019")
    finally:
        client.logout()
    message = describe(raised.value, host=dovecot.host, protocol="IMAP", folder="Archives 2019")
    assert message.startswith("The folder “Archives 2019” does not exist on 127.0.0.1.")


def test_the_password_never_comes_back_in_the_page(
    alice_client, dovecot, smtp_server, imap_account
):
    for action in ("test", "save"):
        data = form_data(
            dovecot,
            smtp_server,
            imap_account,
            imap_port=free_loopback_port(),  # fails: the page is shown again
            smtp_password="Smtp-Secret-41d0a2",
            action=action,
        )
        response = alice_client.post(reverse("mailbox_add"), data, follow=True)
        assert response.status_code == 200
        assert not response.context["report"].ok
        assert IMAP_SECRET not in response.text
        assert "Smtp-Secret-41d0a2" not in response.text
        # The other fields are kept, so only the passwords need typing again.
        assert f'value="{data["imap_port"]}"' in response.text
        assert 'value="scolarite@lycee-verne.fr"' in response.text
        assert 'autocomplete="new-password"' in response.text
    assert not Mailbox.objects.exists()


# --- saving -------------------------------------------------------------------------------


def test_save_tests_then_creates_the_mailbox_with_sealed_passwords(
    alice_client, workspace, dovecot, smtp_server, imap_account
):
    data = form_data(dovecot, smtp_server, imap_account, action="save")
    response = alice_client.post(reverse("mailbox_add"), data)
    assert response.status_code == 302
    assert response.url == reverse("mailboxes")

    mailbox = Mailbox.objects.get(workspace=workspace)
    assert (mailbox.address, mailbox.name, mailbox.provider) == (ADDRESS, "Scolarité", "imap")
    assert (mailbox.imap_host, mailbox.imap_port, mailbox.imap_security) == (
        dovecot.host,
        dovecot.port,
        "none",
    )
    assert mailbox.imap_username == imap_account[0]
    assert mailbox.smtp_username == smtp_server.username
    assert mailbox.sync_state == SyncState.ACTIVE
    sealed = bytes(mailbox.credentials_sealed)
    for secret in (IMAP_SECRET, smtp_server.password):
        assert secret.encode() not in sealed
    assert passwords(mailbox_credentials(mailbox)) == {
        "imap_password": IMAP_SECRET,
        "smtp_password": smtp_server.password,
    }
    sent = mailbox.folders.get(role=FolderRole.SENT)
    assert folder_name(sent, workspace) == "Sent"


def test_smtp_login_defaults_to_the_imap_one(alice_client, workspace, dovecot, imap_account):
    # An SMTP server that accepts the IMAP account's own login.
    from tests.parts.smtp import start_smtp_server

    username, password = imap_account
    smtp = start_smtp_server(username=username, password=password)
    try:
        data = form_data(
            dovecot, smtp, imap_account, smtp_username="", smtp_password="", action="save"
        )
        response = alice_client.post(reverse("mailbox_add"), data)
    finally:
        smtp.stop()
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(workspace=workspace)
    assert mailbox.smtp_username == username
    assert mailbox_credentials(mailbox)["smtp_password"] == password


def test_save_is_refused_when_the_test_fails_unless_the_admin_insists(
    alice_client, workspace, dovecot, smtp_server, imap_account
):
    data = form_data(dovecot, smtp_server, imap_account, imap_password="wrong", action="save")
    response = alice_client.post(reverse("mailbox_add"), data)
    assert response.status_code == 200
    assert "Not saved: the connection test failed" in response.text
    assert not Mailbox.objects.exists()

    data["save_anyway"] = "on"
    response = alice_client.post(reverse("mailbox_add"), data)
    assert response.status_code == 302
    mailbox = Mailbox.objects.get(workspace=workspace)
    assert mailbox.sync_state == SyncState.ERROR
    assert "IMAP login refused" in mailbox.last_error
    assert mailbox.consecutive_failures == 1
    # And the health panel says why.
    page = alice_client.get(reverse("mailboxes")).text
    assert "IMAP login refused by 127.0.0.1: check the username and password." in page


def test_an_address_is_connected_once_per_workspace(
    alice_client, workspace, dovecot, smtp_server, imap_account
):
    mailbox_create(workspace=workspace, address=ADDRESS)
    response = alice_client.post(
        reverse("mailbox_add"), form_data(dovecot, smtp_server, imap_account)
    )
    assert response.context["report"] is None  # invalid forms are not tested
    assert "is already connected in this workspace" in response.text


# --- validation in words --------------------------------------------------------------


def _form(workspace, **changes) -> ImapMailboxForm:
    data = {
        "address": ADDRESS,
        "imap_host": "imap.example.fr",
        "imap_security": "tls",
        "imap_password": "x",
        "smtp_host": "smtp.example.fr",
        "smtp_security": "starttls",
        **changes,
    }
    return ImapMailboxForm(data, workspace=workspace, allow_private_hosts=True)


def test_ports_default_from_the_security(workspace):
    form = _form(workspace)
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["imap_port"], form.cleaned_data["smtp_port"]) == (993, 587)
    assert form.cleaned_data["imap_username"] == ADDRESS
    form = _form(workspace, imap_security="starttls", smtp_security="tls")
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["imap_port"], form.cleaned_data["smtp_port"]) == (143, 465)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"imap_port": "993", "imap_security": "starttls"}, "imap_port", "expects TLS"),
        ({"smtp_port": "587", "smtp_security": "tls"}, "smtp_port", "starts unencrypted"),
        ({"imap_port": "70000"}, "imap_port", "between 1 and 65535"),
        ({"imap_host": "imaps://imap.example.fr"}, "imap_host", "without “imap://”"),
        ({"smtp_host": "smtp.example.fr:465"}, "smtp_host", "port in its own field"),
        ({"imap_host": "imap example.fr"}, "imap_host", "is not a server name"),
        ({"imap_password": ""}, "imap_password", "Enter the mailbox's password"),
    ],
)
def test_validation_errors_are_sentences(workspace, changes, field, words):
    with_language = _form(workspace, **changes)
    assert not with_language.is_valid()
    assert words in " ".join(with_language.errors[field])


def test_the_hosted_form_refuses_local_addresses(workspace, settings):
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = False
    form = ImapMailboxForm(
        {
            "address": ADDRESS,
            "imap_host": "127.0.0.1",
            "imap_security": "tls",
            "imap_password": "x",
            "smtp_host": "localhost",
            "smtp_security": "tls",
        },
        workspace=workspace,
    )
    assert not form.is_valid()
    assert "private or local network address" in form.errors["imap_host"][0]
    assert "private or local network address" in form.errors["smtp_host"][0]


# --- editing, pausing, deleting -----------------------------------------------------------


@pytest.fixture
def saved_mailbox(workspace, dovecot, smtp_server, imap_account):
    username, password = imap_account
    return mailbox_create(
        workspace=workspace,
        address=ADDRESS,
        name="Scolarité",
        credentials={"imap_password": password, "smtp_password": smtp_server.password},
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=username,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_username=smtp_server.username,
    )


def test_edit_keeps_the_passwords_when_left_empty(
    alice_client, saved_mailbox, dovecot, smtp_server, imap_account
):
    url = reverse("mailbox_edit", args=[saved_mailbox.pk])
    page = alice_client.get(url)
    assert page.status_code == 200
    assert IMAP_SECRET not in page.text and smtp_server.password not in page.text

    saved_mailbox.sync_state = SyncState.ERROR
    saved_mailbox.consecutive_failures = 4
    saved_mailbox.save()
    data = form_data(
        dovecot,
        smtp_server,
        imap_account,
        name="Vie scolaire",
        imap_password="",
        smtp_password="",
        action="save",
    )
    response = alice_client.post(url, data)
    assert response.status_code == 302
    saved_mailbox.refresh_from_db()
    assert saved_mailbox.name == "Vie scolaire"
    assert passwords(mailbox_credentials(saved_mailbox)) == {
        "imap_password": IMAP_SECRET,
        "smtp_password": smtp_server.password,
    }
    # New settings that work: the failing mailbox starts again from zero.
    assert (saved_mailbox.sync_state, saved_mailbox.consecutive_failures) == ("active", 0)


def test_edit_tests_with_the_new_settings_before_saving(
    alice_client, saved_mailbox, dovecot, smtp_server, imap_account
):
    url = reverse("mailbox_edit", args=[saved_mailbox.pk])
    data = form_data(
        dovecot,
        smtp_server,
        imap_account,
        imap_password=imap_account[1],  # a new port: the password is asked again
        imap_port=free_loopback_port(),
        action="save",
    )
    response = alice_client.post(url, data)
    assert response.status_code == 200
    assert "refused the connection" in response.text
    saved_mailbox.refresh_from_db()
    assert saved_mailbox.imap_port == dovecot.port


def test_the_address_cannot_be_changed_by_editing(
    alice_client, saved_mailbox, dovecot, smtp_server, imap_account
):
    data = form_data(
        dovecot, smtp_server, imap_account, address="autre@lycee-verne.fr", action="save"
    )
    alice_client.post(reverse("mailbox_edit", args=[saved_mailbox.pk]), data)
    saved_mailbox.refresh_from_db()
    assert saved_mailbox.address == ADDRESS


def test_pause_and_resume(alice_client, saved_mailbox):
    url = reverse("mailbox_pause", args=[saved_mailbox.pk])
    assert alice_client.post(url, {"paused": "1"}).status_code == 302
    saved_mailbox.refresh_from_db()
    assert saved_mailbox.sync_state == SyncState.PAUSED
    assert "Paused: no new mail is fetched" in alice_client.get(reverse("mailboxes")).text
    alice_client.post(url, {"paused": "0"})
    saved_mailbox.refresh_from_db()
    assert saved_mailbox.sync_state == SyncState.ACTIVE


def _mail_with_attachment() -> bytes:
    message = EmailMessage()
    message["From"] = "Parent Dupont <parent@example.fr>"
    message["To"] = ADDRESS
    message["Subject"] = "Certificat de scolarité"
    message["Message-ID"] = "<certificat-1@example.fr>"
    message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0100"
    message.set_content("Bonjour, pourriez-vous m’envoyer un certificat ?")
    message.add_attachment(
        b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="a.pdf"
    )
    return message.as_bytes()


def test_delete_needs_the_typed_address_and_removes_everything(
    alice_client, saved_mailbox, django_capture_on_commit_callbacks
):
    inbox = saved_mailbox.folders.get(role=FolderRole.INBOX)
    ingest_batch(
        mailbox=saved_mailbox,
        folder=inbox,
        mails=[RawMail(provider_key="INBOX:1:1", raw=_mail_with_attachment())],
    )
    message = Message.objects.get(mailbox=saved_mailbox)
    stored = [message.raw_object, *Attachment.objects.values_list("object_key", flat=True)]
    assert len(stored) == 2 and all(object_store().exists(k) for k in stored)
    url = reverse("mailbox_delete", args=[saved_mailbox.pk])

    page = alice_client.get(reverse("mailbox_edit", args=[saved_mailbox.pk])).text
    assert "its 1 conversation" in page

    response = alice_client.post(url, {"confirm_address": "scolarite@"}, follow=True)
    assert "Nothing was deleted" in response.text
    assert Mailbox.objects.filter(pk=saved_mailbox.pk).exists()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = alice_client.post(url, {"confirm_address": f"  {ADDRESS.upper()} "})
    assert response.status_code == 302
    assert callbacks, "stored objects are deleted after the commit"
    assert not Mailbox.objects.filter(pk=saved_mailbox.pk).exists()
    assert not Conversation.objects.exists() and not Message.objects.exists()
    assert not any(object_store().exists(k) for k in stored)


# --- who may do what --------------------------------------------------------------------


def test_agents_see_the_health_panel_but_cannot_change_anything(bob_client, saved_mailbox):
    page = bob_client.get(reverse("mailboxes"))
    assert page.status_code == 200
    assert ADDRESS in page.text
    assert reverse("mailbox_add") not in page.text
    assert reverse("mailbox_edit", args=[saved_mailbox.pk]) not in page.text

    pk = saved_mailbox.pk
    for method, url in [
        ("get", reverse("mailbox_add")),
        ("post", reverse("mailbox_add")),
        ("get", reverse("mailbox_edit", args=[pk])),
        ("post", reverse("mailbox_edit", args=[pk])),
        ("post", reverse("mailbox_pause", args=[pk])),
        ("post", reverse("mailbox_delete", args=[pk])),
    ]:
        response = getattr(bob_client, method)(url, {"paused": "1", "confirm_address": ADDRESS})
        assert response.status_code == 403, f"{method.upper()} {url}"
    saved_mailbox.refresh_from_db()
    assert saved_mailbox.sync_state == SyncState.ACTIVE


def test_charlie_sees_none_of_alices_mailboxes(charlie_client, saved_mailbox):
    page = charlie_client.get(reverse("mailboxes"))
    assert page.status_code == 200
    assert ADDRESS not in page.text


# --- the health panel ---------------------------------------------------------------------


def test_health_panel_in_words(alice_client, workspace, django_assert_max_num_queries):
    now = timezone.now()
    mailbox_create(
        workspace=workspace,
        address="contact@lycee-verne.fr",
        last_success_at=now - timedelta(minutes=3),
        last_attempt_at=now - timedelta(minutes=3),
        messages_synced=1234,
    )
    mailbox_create(
        workspace=workspace,
        address="direction@lycee-verne.fr",
        sync_state=SyncState.ERROR,
        last_success_at=now - timedelta(hours=2),
        last_attempt_at=now - timedelta(minutes=1),
        last_error="imap.lycee-verne.fr did not answer in time.",
        last_error_at=now - timedelta(minutes=1),
        consecutive_failures=5,
    )
    mailbox_create(workspace=workspace, address="google@lycee-verne.fr", provider=Provider.GOOGLE)
    with django_assert_max_num_queries(8):
        page = alice_client.get(reverse("mailboxes")).text
    assert "3\xa0minutes ago" in page
    assert "1,234" in page or "1234" in page
    assert "Up to date." in page
    assert "Under 15 minutes" in page
    assert "Sync is failing; it is retried automatically." in page
    assert "imap.lycee-verne.fr did not answer in time." in page
    assert "behind" in page
    assert "Waiting for the first sync." in page


def test_the_page_speaks_french_by_default(alice_client, alice, saved_mailbox):
    alice.language = "fr"
    alice.save(update_fields=["language"])
    response = alice_client.get(reverse("mailboxes"))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"


# --- the operator's command ---------------------------------------------------------------


def _command_args(workspace, dovecot, smtp_server, username, **changes) -> list[str]:
    options = {
        "--workspace": workspace.slug,
        "--address": ADDRESS,
        "--imap-host": dovecot.host,
        "--imap-port": str(dovecot.port),
        "--imap-security": "starttls",
        "--username": username,
        "--password-env": "TRUPEO_TEST_IMAP_PASSWORD",
        "--smtp-host": smtp_server.host,
        "--smtp-port": str(smtp_server.port),
        "--smtp-security": "starttls",
        "--smtp-username": smtp_server.username,
        "--smtp-password-env": "TRUPEO_TEST_SMTP_PASSWORD",
        **changes,
    }
    return [part for option, value in options.items() for part in (option, value)]


@pytest.fixture
def command_env(monkeypatch, imap_account, smtp_server):
    monkeypatch.setenv("TRUPEO_TEST_IMAP_PASSWORD", imap_account[1])
    monkeypatch.setenv("TRUPEO_TEST_SMTP_PASSWORD", smtp_server.password)


def test_command_tests_then_creates_the_mailbox(
    workspace, dovecot, smtp_server, imap_account, command_env, trust_test_servers, capsys
):
    call_command(
        "mailbox_add_imap", *_command_args(workspace, dovecot, smtp_server, imap_account[0])
    )
    out = capsys.readouterr().out
    mailbox = Mailbox.objects.get(workspace=workspace, address=ADDRESS)
    assert "IMAP works: Logged in to 127.0.0.1" in out
    assert "SMTP works: Logged in to 127.0.0.1" in out
    assert f"Mailbox {mailbox.pk} created" in out
    assert IMAP_SECRET not in out
    assert IMAP_SECRET.encode() not in bytes(mailbox.credentials_sealed)
    assert mailbox_credentials(mailbox)["imap_password"] == IMAP_SECRET
    assert (mailbox.imap_security, mailbox.smtp_security) == ("starttls", "starttls")


def test_command_refuses_to_save_when_the_test_fails(
    workspace, dovecot, smtp_server, imap_account, command_env, monkeypatch, capsys
):
    monkeypatch.setenv("TRUPEO_TEST_IMAP_PASSWORD", "wrong")
    args = _command_args(
        workspace,
        dovecot,
        smtp_server,
        imap_account[0],
        **{"--imap-security": "none", "--smtp-security": "none"},
    )
    with pytest.raises(CommandError, match="nothing was saved"):
        call_command("mailbox_add_imap", *args)
    assert "IMAP fails: IMAP login refused" in capsys.readouterr().out
    assert not Mailbox.objects.exists()

    call_command("mailbox_add_imap", *args, "--no-test")
    assert Mailbox.objects.get(address=ADDRESS).sync_state == SyncState.ACTIVE


def test_command_missing_password_variable(workspace, dovecot, smtp_server, monkeypatch):
    monkeypatch.delenv("TRUPEO_TEST_IMAP_PASSWORD", raising=False)
    with pytest.raises(CommandError, match=r"TRUPEO_TEST_IMAP_PASSWORD .*is not set"):
        call_command("mailbox_add_imap", *_command_args(workspace, dovecot, smtp_server, "u"))
    assert not Mailbox.objects.exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"--workspace": "nope"}, "No workspace has the short name 'nope'"),
        ({"--imap-security": "ssl"}, "unknown security 'ssl'"),
        ({"--smtp-port": "smtp"}, "is not a port"),
        ({"--imap-port": "993"}, "--imap-port: Port 993 expects TLS"),
    ],
)
def test_command_errors_are_clear(workspace, dovecot, smtp_server, command_env, changes, error):
    args = _command_args(workspace, dovecot, smtp_server, "u", **changes)
    with pytest.raises(CommandError, match=error):
        call_command("mailbox_add_imap", *args, "--no-test")
    assert not Mailbox.objects.exists()


def test_command_refuses_a_duplicate_address(workspace, dovecot, smtp_server, command_env):
    mailbox_create(workspace=workspace, address=ADDRESS)
    with pytest.raises(CommandError, match="already connected in this workspace"):
        call_command(
            "mailbox_add_imap", *_command_args(workspace, dovecot, smtp_server, "u"), "--no-test"
        )
    assert Mailbox.objects.count() == 1
