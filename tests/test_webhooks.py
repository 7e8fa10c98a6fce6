"""Outgoing webhooks against the real app and a local HTTPS receiver that checks signatures:
every event, retries with backoff, a day of failures, content only when ticked, and the
attacks (private targets, redirects, an untrusted certificate, other workspaces, agents)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from inbox.actions.triage import conversation_assign, conversation_set_status, note_add
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sending import outgoing_create, outgoing_queue, outgoing_send
from inbox.models import Conversation, FolderRole, Outgoing, SendState
from tests.mail import french_message, loopback_mailbox
from tests.parts.http_fake import Response
from tests.parts.webhook_receiver import WebhookReceiver
from tests.sending_tasks import sends_recorded
from webhooks.deliveries import delivery_attempt
from webhooks.endpoints import endpoint_create
from webhooks.models import Delivery, DeliveryState, Endpoint, Event, Preset
from webhooks.selectors import endpoint_secret

pytestmark = pytest.mark.django_db(transaction=True)

EVERY_EVENT = [e for e in Event.values if e != Event.PING]


@pytest.fixture
def receiver(settings):
    server = WebhookReceiver().start()
    settings.TRUPEO_EXTRA_CA_FILE = server.ca_file  # trusted like a public CA would be
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    return sends_recorded(monkeypatch)


def _endpoint(workspace, alice, receiver, *, events=None, **fields):
    return endpoint_create(
        workspace=workspace,
        actor=alice,
        name=fields.pop("name", "CRM"),
        url=fields.pop("url", receiver.hook_url()),
        preset=fields.pop("preset", Preset.GENERIC),
        events=events or EVERY_EVENT,
        include_content=fields.pop("include_content", False),
    )


def _run_due() -> None:
    """What the worker does with the queued deliveries (in creation order)."""
    for pk in (
        Delivery.objects.filter(state=DeliveryState.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        delivery_attempt(delivery_id=pk)


def _mail_in(workspace, subject="Absence de Lucas"):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[RawMail("1:1:1", french_message(1, subject=subject), received_at=timezone.now())],
    )
    return Conversation.objects.get(mailbox=mailbox)


def test_each_event_arrives_signed_with_ids_and_no_content(workspace, alice, bob, receiver):
    endpoint, secret = _endpoint(workspace, alice, receiver)
    conversation = _mail_in(workspace)
    conversation_assign(conversation=conversation, assignee=bob, actor=alice)
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    note_add(conversation=conversation, author=alice, body="Appeler la famille demain")
    _run_due()

    events = [r.headers["trupeo-event"] for r in receiver.requests]
    assert events == [
        "conversation.created",
        "message.received",
        "conversation.assigned",
        "conversation.status_changed",
        "note.added",
    ]
    for request in receiver.requests:
        assert receiver.signature_checks(request, secret)
        assert not receiver.signature_checks(request, secret + "x")
        body = request.json()
        assert body["id"] == int(request.headers["trupeo-delivery"])
        assert body["workspace"] == {"id": workspace.pk, "slug": workspace.slug}
        assert body["data"]["conversation"]["id"] == conversation.pk
        raw = request.body.decode()
        assert "Absence" not in raw and "famille demain" not in raw  # no content by default
    assert receiver.requests[2].json()["data"]["assignee_id"] == bob.pk
    assert receiver.requests[3].json()["data"]["status"] == "pending"
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.DELIVERED}
    for delivery in Delivery.objects.filter(endpoint=endpoint):
        assert b'"conversation"' not in bytes(delivery.payload_sealed)  # sealed at rest


def test_reply_sent_through_the_real_smtp_server(
    workspace, alice, receiver, dovecot, smtp_server, queued
):
    _endpoint(workspace, alice, receiver, events=[Event.REPLY_SENT])
    user, password = dovecot.add_user("scolarite-hooks")
    mailbox = loopback_mailbox(workspace, dovecot, smtp_server, user=user, password=password)
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="1:1:1", raw=french_message(2))],
    )
    conversation = Conversation.objects.get(mailbox=mailbox)
    draft = outgoing_create(
        mailbox=mailbox,
        conversation=conversation,
        author=alice,
        kind="reply",
        body="Bien reçu.",
        reply_to_message=conversation.messages.get(),
    )
    outgoing_queue(outgoing=draft)
    Outgoing.objects.filter(pk=draft.pk).update(lease_until=timezone.now())
    assert outgoing_send(outgoing_id=draft.pk) == SendState.SENT
    outgoing_send(outgoing_id=draft.pk)  # a second run sends nothing, says nothing
    _run_due()
    [request] = receiver.requests
    assert request.headers["trupeo-event"] == "reply.sent"
    assert request.json()["data"]["reply"]["id"] == draft.pk
    assert len(smtp_server.messages) == 1


def test_content_leaves_only_where_ticked_and_is_sealed_meanwhile(workspace, alice, receiver):
    _endpoint(workspace, alice, receiver, name="Sans contenu", events=[Event.MESSAGE_RECEIVED])
    _endpoint(
        workspace,
        alice,
        receiver,
        name="Avec contenu",
        url=receiver.hook_url("with-content"),
        events=[Event.MESSAGE_RECEIVED],
        include_content=True,
    )
    _mail_in(workspace, subject="Bourse de Lucas")
    for delivery in Delivery.objects.all():
        assert b"Bourse" not in bytes(delivery.payload_sealed)  # sealed until it leaves
    _run_due()
    by_path = {r.path: r.json()["data"]["message"] for r in receiver.requests}
    assert "subject" not in by_path["/hooks/trupeo"]
    assert by_path["/hooks/with-content"]["subject"] == "Bourse de Lucas"
    assert "Mon enfant sera absent" in by_path["/hooks/with-content"]["snippet"]


def test_retries_with_backoff_until_the_receiver_answers(workspace, alice, receiver):
    endpoint, _secret = _endpoint(workspace, alice, receiver, events=[Event.STATUS_CHANGED])
    conversation = _mail_in(workspace)
    receiver.script = [Response(500), Response(503)]
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    [delivery] = Delivery.objects.all()

    waits = []
    for _ in range(2):
        before = timezone.now()
        delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.PENDING
        waits.append((delivery.next_attempt_at - before).total_seconds())
        delivery_attempt(delivery_id=delivery.pk)  # not due yet: nothing is sent
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert 25 < waits[0] < 35 and 50 < waits[1] < 70  # 30 s, then 1 min
    assert delivery.last_status == 503 and "503" in delivery.last_error
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 3, 200)
    assert endpoint.failing_since is None
    assert len(receiver.requests) == 3
    assert len({r.headers["trupeo-delivery"] for r in receiver.requests}) == 1  # same id


def test_a_day_of_failures_disables_the_endpoint_and_tells_the_admins(
    workspace, alice, bob, receiver
):
    endpoint, _secret = _endpoint(workspace, alice, receiver, events=[Event.STATUS_CHANGED])
    conversation = _mail_in(workspace)
    receiver.script = [Response(500)] * 5
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    conversation_set_status(conversation=conversation, status="open", actor=alice)
    first, second = Delivery.objects.order_by("pk")
    Endpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=25)
    )
    mail.outbox.clear()
    delivery_attempt(delivery_id=first.pk)

    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_at is not None
    second.refresh_from_db()
    assert second.state == DeliveryState.FAILED  # not sent to a disabled endpoint
    assert [m.to for m in mail.outbox] == [[alice.email]]  # the owner, not the agent
    assert "CRM" in mail.outbox[0].subject
    assert reverse("webhook_edit", args=[endpoint.pk]) in mail.outbox[0].body
    assert len(receiver.requests) == 1


def test_a_delivery_older_than_a_day_is_given_up(workspace, alice, receiver):
    _endpoint(workspace, alice, receiver, events=[Event.STATUS_CHANGED])
    conversation = _mail_in(workspace)
    receiver.script = [Response(502)]
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    Delivery.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    _run_due()
    [delivery] = Delivery.objects.all()
    assert delivery.state == DeliveryState.FAILED and delivery.next_attempt_at is None


def test_slack_and_teams_presets_get_a_chat_message(workspace, alice, receiver):
    for preset in (Preset.SLACK, Preset.TEAMS):
        _endpoint(
            workspace,
            alice,
            receiver,
            name=preset,
            url=receiver.hook_url(preset),
            preset=preset,
            events=[Event.CONVERSATION_CREATED],
        )
    conversation = _mail_in(workspace)
    _run_due()
    bodies = {r.path: r.json() for r in receiver.requests}
    slack, teams = bodies["/hooks/slack"], bodies["/hooks/teams"]
    url = reverse("conversation", args=[conversation.pk])
    assert set(slack) == {"text"} and url in slack["text"]
    assert "Conversation créée" in slack["text"]  # the workspace's language
    assert teams["@type"] == "MessageCard" and url in teams["text"]


def test_a_customers_subject_cannot_post_markup_to_the_teams_channel(workspace, alice, receiver):
    _endpoint(
        workspace,
        alice,
        receiver,
        url=receiver.hook_url("slack"),
        preset=Preset.SLACK,
        events=[Event.CONVERSATION_CREATED, Event.MESSAGE_RECEIVED],
        include_content=True,
    )
    _mail_in(workspace, subject="<!channel> <https://evil.example/login|Reconnectez-vous> & vite")
    _run_due()
    texts = [r.json()["text"] for r in receiver.requests]
    message = next(t for t in texts if "evil" in t)
    assert "<!channel>" not in message and "<https://" not in message
    assert (
        "&lt;!channel&gt; &lt;https://evil.example/login|Reconnectez-vous&gt; &amp; vite" in message
    )


def test_a_private_target_is_refused_before_any_connection(
    workspace, alice, receiver, settings, alice_client
):
    # A name that resolves to loopback: the sentence names it, never the address behind it.
    url = receiver.hook_url().replace("127.0.0.1", "localhost")
    _endpoint(workspace, alice, receiver, url=url, events=[Event.STATUS_CHANGED])
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = False  # production
    conversation = _mail_in(workspace)
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    _run_due()
    [delivery] = Delivery.objects.all()
    assert receiver.requests == [] and receiver.log == []
    assert "localhost désigne une adresse de réseau privé ou local" in delivery.last_error
    assert "127.0.0.1" not in delivery.last_error

    for url in (
        receiver.hook_url(),
        "https://localhost/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://example.com/hook",
        "https://user:password@example.com/hook",
        "javascript:alert(1)",
        "https://exa mple.com/",
        "https://example.com:0/",
    ):
        response = alice_client.post(
            reverse("webhook_add"),
            {"name": "x", "url": url, "preset": "generic", "events": ["note.added"]},
        )
        assert response.status_code == 200, url  # the form again, with its error
        assert "field-errors" in response.content.decode(), url
    assert Endpoint.objects.count() == 1


def test_a_redirect_is_not_followed(workspace, alice, receiver):
    _endpoint(workspace, alice, receiver, events=[Event.STATUS_CHANGED])
    conversation = _mail_in(workspace)
    receiver.script = [Response(302, b"", {"Location": receiver.hook_url("elsewhere")})]
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    _run_due()
    [delivery] = Delivery.objects.all()
    assert delivery.state == DeliveryState.PENDING and "redirect" in delivery.last_error
    assert [r.path for r in receiver.requests] == ["/hooks/trupeo"]


def test_an_untrusted_certificate_gets_nothing(workspace, alice, receiver, settings):
    _endpoint(workspace, alice, receiver, events=[Event.STATUS_CHANGED])
    settings.TRUPEO_EXTRA_CA_FILE = ""
    conversation = _mail_in(workspace)
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    _run_due()
    [delivery] = Delivery.objects.all()
    assert receiver.requests == []
    assert "certificat" in delivery.last_error


def test_admin_pages_create_show_the_secret_once_and_log(alice_client, workspace, receiver):
    response = alice_client.post(
        reverse("webhook_add"),
        {
            "name": "Zapier",
            "url": receiver.hook_url(),
            "preset": "generic",
            "events": ["note.added", "conversation.assigned"],
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    endpoint = Endpoint.objects.get()
    secret = endpoint_secret(keys_for(workspace), endpoint)
    assert secret in response.content.decode()
    assert secret.encode() not in bytes(endpoint.secret_sealed)
    assert receiver.hook_url().encode() not in bytes(endpoint.url_sealed)
    edit = alice_client.get(reverse("webhook_edit", args=[endpoint.pk])).content.decode()
    assert secret not in edit

    alice_client.post(reverse("webhook_ping", args=[endpoint.pk]))
    _run_due()
    [ping] = receiver.requests
    assert ping.headers["trupeo-event"] == "ping" and receiver.signature_checks(ping, secret)
    log = alice_client.get(reverse("webhook_deliveries", args=[endpoint.pk])).content.decode()
    assert "HTTP 200" in log and "ping" in log

    alice_client.post(reverse("webhook_secret", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint_secret(keys_for(workspace), endpoint) != secret


def test_agents_are_refused_and_other_workspaces_see_nothing(
    workspace, alice, bob_client, charlie_client, receiver
):
    endpoint, _secret = _endpoint(workspace, alice, receiver)
    assert bob_client.get(reverse("webhook_list")).status_code == 403
    assert bob_client.post(reverse("webhook_add"), {"name": "x"}).status_code == 403
    for name in ("webhook_edit", "webhook_deliveries"):
        assert charlie_client.get(reverse(name, args=[endpoint.pk])).status_code == 404
    for name in ("webhook_ping", "webhook_enable", "webhook_secret", "webhook_delete"):
        assert charlie_client.post(reverse(name, args=[endpoint.pk])).status_code == 404
    assert Endpoint.objects.filter(pk=endpoint.pk, is_enabled=True).exists()
    assert Delivery.objects.count() == 0


def test_the_sweep_queues_what_a_lost_task_left(workspace, alice, receiver, monkeypatch):
    from webhooks import deliveries

    _endpoint(workspace, alice, receiver, events=[Event.STATUS_CHANGED])
    conversation = _mail_in(workspace)
    conversation_set_status(conversation=conversation, status="pending", actor=alice)
    queued = []
    monkeypatch.setattr(deliveries, "enqueue", lambda task, pk: queued.append(pk))
    assert deliveries.deliveries_due_enqueue() == 1
    assert queued == list(Delivery.objects.values_list("pk", flat=True))


def test_a_batch_of_mail_asks_for_the_endpoints_once_and_each_gets_its_events(
    workspace, alice, receiver
):
    """An initial sync stores 200 mails a batch: the endpoints are read once per batch, not
    once per new conversation, and each still gets exactly the events it chose."""
    created_only, _ = _endpoint(
        workspace, alice, receiver, name="Created", events=[Event.CONVERSATION_CREATED]
    )
    received_only, _ = _endpoint(
        workspace, alice, receiver, name="Received", events=[Event.MESSAGE_RECEIVED]
    )
    _endpoint(workspace, alice, receiver, name="Off", events=[Event.CONVERSATION_CREATED])
    Endpoint.objects.filter(name="Off").update(is_enabled=False)
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    reads = []

    def counted(execute, sql, params, many, context):
        if 'FROM "webhooks_endpoint"' in sql:
            reads.append(sql)
        return execute(sql, params, many, context)

    from django.db import connection

    with connection.execute_wrapper(counted):
        ingest_batch(
            mailbox=mailbox,
            folder=folder,
            mails=[
                RawMail(f"1:1:{n}", french_message(n), received_at=timezone.now())
                for n in range(1, 21)
            ],
        )
    assert len(reads) == 1
    by_endpoint = dict(Delivery.objects.values_list("endpoint_id").annotate(n=models.Count("id")))
    events = set(Delivery.objects.values_list("endpoint_id", "event"))
    assert by_endpoint == {created_only.pk: 20, received_only.pk: 20}
    assert events == {
        (created_only.pk, Event.CONVERSATION_CREATED),
        (received_only.pk, Event.MESSAGE_RECEIVED),
    }


def test_history_imported_with_a_new_mailbox_is_not_sent(workspace, alice, receiver):
    """Connecting a mailbox imports its past mail as handled: no event for it (a Slack channel
    would get years of mail at once); mail that arrives from then on is sent as usual."""
    endpoint, _ = _endpoint(workspace, alice, receiver)
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    folder = mailbox.folders.get(role=FolderRole.INBOX)
    old = mailbox.created_at - timedelta(days=90)
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[RawMail(f"1:1:{n}", french_message(n), received_at=old) for n in (1, 2)],
    )
    assert not Delivery.objects.exists()
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[RawMail("1:1:3", french_message(3), received_at=timezone.now())],
    )
    assert sorted(Delivery.objects.filter(endpoint=endpoint).values_list("event", flat=True)) == [
        Event.CONVERSATION_CREATED,
        Event.MESSAGE_RECEIVED,
    ]
