"""The local trial (`make run`): replies leave through a real SMTP catcher on loopback and
land in the demo's Sent, printed mail is readable, emailed links use the address served on,
and the demo shows every feature (HTML mail with remote images, saved replies, a rule)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import call_command

from accounts.models import User, Workspace
from inbox.mail.sending import outgoing_create, outgoing_queue, outgoing_send
from inbox.models import (
    Conversation,
    FolderRole,
    Mailbox,
    Message,
    OutgoingKind,
    Rule,
    SavedReply,
    SendState,
)
from inbox.tasks import send_outgoing
from tests.parts import free_loopback_port
from trupeo.local_smtp import catcher_start
from trupeo.mail_console import EmailBackend as ReadableConsoleBackend

ROOT = Path(__file__).resolve().parent.parent
FRENCH = "Bonjour Élodie,\n\nC’est noté : le rendez-vous de Chloé est mardi à 17 h 30. « Merci » !"


@pytest.fixture
def catcher(monkeypatch):
    """`make run`'s catcher on a free loopback port, the port the demo is told to use."""
    port = free_loopback_port()
    monkeypatch.setenv("TRUPEO_LOCAL_SMTP_PORT", str(port))
    stream = io.StringIO()
    controller = catcher_start(port=port, stream=stream)
    controller.stream = stream
    yield controller
    controller.stop()


@pytest.fixture
def queued(monkeypatch):
    """No Celery here: the test makes the worker's one attempt itself."""
    monkeypatch.setattr(send_outgoing, "delay", lambda pk: None)
    monkeypatch.setattr(send_outgoing, "apply_async", lambda *a, **kw: None)


def _demo() -> tuple[Workspace, Mailbox, User]:
    call_command("seed_demo", stdout=io.StringIO())
    workspace = Workspace.objects.get(slug="lycee-demo")
    return workspace, workspace.mailboxes.get(), User.objects.get(email="camille@lycee-demo.fr")


@pytest.mark.django_db
def test_a_demo_reply_leaves_through_the_local_catcher_and_lands_in_sent(catcher, queued):
    _workspace, mailbox, camille = _demo()
    assert (mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security) == (
        "127.0.0.1",
        int(os.environ["TRUPEO_LOCAL_SMTP_PORT"]),
        "none",
    )
    customer = (
        Message.objects.filter(mailbox=mailbox, folder__role=FolderRole.INBOX)
        .order_by("-received_at")
        .first()
    )
    outgoing = outgoing_create(
        mailbox=mailbox,
        conversation=customer.conversation,
        author=camille,
        kind=OutgoingKind.REPLY,
        body=FRENCH,
        reply_to_message=customer,
    )
    outgoing_queue(outgoing=outgoing)

    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.SENT

    outgoing.refresh_from_db()
    assert outgoing.state == SendState.SENT and outgoing.last_error == ""
    assert len(catcher.handler.caught) == 1  # it went over SMTP, once
    printed = catcher.stream.getvalue()
    assert "Élodie" in printed and "« Merci »" in printed  # readable, not quoted-printable
    assert "=C3=89" not in printed and "=?utf-8?" not in printed
    assert "scolarite@lycee-demo.fr" in printed
    copy = Message.objects.get(mailbox=mailbox, provider_key=f"sent:{outgoing.pk}")
    assert copy.folder.role == FolderRole.SENT
    assert copy.conversation_id == customer.conversation_id


@pytest.mark.django_db
def test_without_the_catcher_a_demo_reply_says_why_and_waits_for_it(monkeypatch, queued):
    monkeypatch.setenv("TRUPEO_LOCAL_SMTP_PORT", str(free_loopback_port()))  # nobody listens
    _workspace, mailbox, camille = _demo()
    customer = Message.objects.filter(mailbox=mailbox, folder__role=FolderRole.INBOX).first()
    outgoing = outgoing_queue(
        outgoing=outgoing_create(
            mailbox=mailbox,
            conversation=customer.conversation,
            author=camille,
            kind=OutgoingKind.REPLY,
            body="Bonjour",
            reply_to_message=customer,
        )
    )
    # A refused connection is a transient failure: said in words, tried again later.
    assert outgoing_send(outgoing_id=outgoing.pk) == SendState.QUEUED
    outgoing.refresh_from_db()
    assert "127.0.0.1" in outgoing.last_error
    assert outgoing.attempts == 1 and outgoing.lease_until is not None
    assert not Message.objects.filter(provider_key=f"sent:{outgoing.pk}").exists()


@pytest.mark.django_db
def test_seed_demo_keeps_a_demo_mailbox_pointed_at_a_real_server(monkeypatch):
    _workspace, mailbox, _camille = _demo()
    mailbox.smtp_host, mailbox.smtp_port = "smtp.lycee-demo.fr", 587
    mailbox.save(update_fields=["smtp_host", "smtp_port"])
    call_command("seed_demo", stdout=io.StringIO())
    mailbox.refresh_from_db()
    assert (mailbox.smtp_host, mailbox.smtp_port) == ("smtp.lycee-demo.fr", 587)


@pytest.mark.django_db
def test_the_demo_shows_html_with_remote_images_saved_replies_and_a_rule(client):
    workspace, mailbox, camille = _demo()
    call_command("seed_demo", stdout=io.StringIO())  # idempotent: nothing doubled
    assert SavedReply.objects.filter(workspace=workspace).count() == 3
    assert Rule.objects.filter(mailbox=mailbox).count() == 1
    newsletter = Message.objects.get(mailbox=mailbox, provider_key="demo:12:1")
    assert newsletter.html_sealed is not None
    client.force_login(camille)
    page = client.get(f"/inbox/c/{newsletter.conversation_id}/")
    if page.status_code == 404:  # the URL's shape is the view's business, not this test's
        from django.urls import reverse

        page = client.get(reverse("conversation", args=[newsletter.conversation_id]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "message-frame" in body  # the HTML is shown framed…
    assert "images=1" in body  # …with its remote images blocked until asked for
    assert Conversation.objects.filter(workspace=workspace).count() >= 13


def test_printed_mail_is_readable_utf8():
    stream = io.StringIO()
    backend = ReadableConsoleBackend(stream=stream)
    message = EmailMessage(
        "Invitation à rejoindre l’équipe « Lycée Demo »",
        FRENCH,
        "Trupeo <noreply@trupeo.localhost>",
        ["elodie@example.fr"],
    )
    message.attach("liste.csv", "nom;prénom\n", "text/csv")
    assert backend.send_messages([message]) == 1
    printed = stream.getvalue()
    assert "Subject: Invitation à rejoindre l’équipe « Lycée Demo »" in printed
    assert "C’est noté : le rendez-vous de Chloé est mardi" in printed
    assert "[attachment: liste.csv, text/csv" in printed
    assert "=C3" not in printed and "=?utf-8?" not in printed


def test_emailed_links_follow_the_port_make_run_serves_on():
    code = "from django.conf import settings; print(settings.SITE_URL)"
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    env.update(DEBUG="True", PORT="8123", DJANGO_SETTINGS_MODULE="trupeo.settings")

    def site_url() -> str:
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout.strip()

    assert site_url() == "http://127.0.0.1:8123"
    env["SITE_URL"] = "https://trupeo.example.fr/"
    assert site_url() == "https://trupeo.example.fr"


@pytest.mark.django_db
def test_allauth_mail_names_the_site_trupeo_and_links_to_the_host_served_on(
    client, alice, settings
):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    response = client.post(
        "/accounts/password/reset/", {"email": alice.email}, HTTP_HOST="127.0.0.1:8123"
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.subject.startswith("[Trupeo] ")
    assert "Trupeo" in sent.body and "127.0.0.1:8123!" not in sent.body
    assert "Bonjour, c'est Trupeo !" in sent.body  # not "c'est 127.0.0.1:8123"
    assert "://127.0.0.1:8123/accounts/password/reset/key/" in sent.body
