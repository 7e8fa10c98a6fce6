"""Redis down: a real redis-server of the test's own is SIGKILLed while the app runs.

Every page still serves (sessions are in the database, cache errors are misses, live updates
say they are paused); work queued meanwhile (a reply, a notification email) stays in the
database and runs exactly once when Redis is back — counted on the real SMTP server.
"""

import re
import time
from datetime import timedelta

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inbox.actions.notifications import notification_emails_requeue
from inbox.mail.sending import outgoing_recover_stuck
from inbox.models import Message, Notification, Outgoing, SendState
from privacy.gdpr.exports import export_requeue_stale
from privacy.models import DataExport, ExportState
from tests.factories import PASSWORD
from tests.mail import loopback_mailbox, received_message
from tests.parts.redis import own_redis  # noqa: F401
from trupeo import cache as resilient_cache
from trupeo.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)

SHARED = "scolarite@lycee-verne.fr"
CUSTOMER = (
    "From: Sophie Martin <sophie.martin@exemple.fr>\r\n"
    "To: Scolarité <scolarite@lycee-verne.fr>\r\n"
    "Subject: Absence de Léa le 12 novembre\r\n"
    "Date: Thu, 12 Nov 2026 10:15:00 +0100\r\n"
    "Message-ID: <absence-lea-1@exemple.fr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Bonjour,\r\n\r\nLéa sera absente jeudi.\r\nSophie\r\n"
).encode()


def _point_celery(url: str, options: dict) -> None:
    # Celery keeps a connection pool per app: forget it so the next task goes to `url`.
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_app(own_redis, settings, monkeypatch):  # noqa: F811
    """The cache and the broker on our own Redis, configured as production configures them."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "trupeo.cache.ResilientRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 1.0,
                "LOCAL_FALLBACK_PREFIXES": ["allauth:rl:", "ratelimit:"],
            },
        },
    }
    # The breaker's pause, shortened so the test sees the recovery without waiting 5 s.
    monkeypatch.setattr(resilient_cache, "RETRY_AFTER", 0.5)
    saved = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    _point_celery(own_redis.url, {"socket_connect_timeout": 1, "socket_timeout": 5})
    yield own_redis
    _point_celery(*saved)


def _receive(mailbox) -> Message:
    return received_message(mailbox, CUSTOMER)


def _poll_url(page: str) -> str:
    return page.split('id="conv-results" hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


def _wait(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_redis_killed_every_page_serves_and_queued_work_runs_once(
    redis_app, alice, bob, workspace, dovecot, smtp_server, settings
):
    settings.LANGUAGE_CODE = "en"
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": smtp_server.host,
                "port": smtp_server.port,
                "username": smtp_server.username,
                "password": smtp_server.password,
                "timeout": 10,
            },
        }
    }
    # Sent at once (the sweeps below run at a pretended time; the undo window is real time).
    workspace.undo_send_seconds = 0
    workspace.save(update_fields=["undo_send_seconds"])
    imap_user, imap_password = dovecot.add_user("scolarite")
    dovecot.create_folder(imap_user, "Sent")
    mailbox = loopback_mailbox(
        workspace, dovecot, smtp_server, user=imap_user, password=imap_password, address=SHARED
    )
    conversation = _receive(mailbox).conversation
    for user in (alice, bob):
        user.language = "en"
        user.save(update_fields=["language"])
    agent = Client()
    agent.force_login(alice)  # a session in the database

    # Redis up: the live poll is the cheap 204.
    poll = _poll_url(agent.get(reverse("inbox")).content.decode())
    assert agent.get(poll, headers={"HX-Request": "true"}).status_code == 204

    redis_app.kill()
    outage = {
        "list": agent.get(reverse("inbox")),
        "counts": agent.get(reverse("inbox_counts")),
        "conversation": agent.get(reverse("conversation", args=[conversation.pk])),
        "live list poll": agent.get(poll, headers={"HX-Request": "true"}),
        "live conversation poll": agent.get(
            reverse("conversation_live", args=[conversation.pk]), {"stamp": "old"}
        ),
        "presence": agent.post(
            reverse("conversation_presence", args=[conversation.pk]), {"activity": "viewing"}
        ),
        "triage": agent.post(
            reverse("conversation_triage", args=[conversation.pk]),
            {"action": "assign", "assignee": str(bob.pk)},
        ),
    }
    composer = agent.post(
        reverse("composer_open", args=[conversation.pk]), {"kind": "reply"}, HTTP_HX_REQUEST="true"
    )
    outage["composer"] = composer
    outgoing = Outgoing.objects.filter(conversation=conversation).latest("pk")
    seen = re.search(r'name="seen" value="([^"]+)"', composer.content.decode()).group(1)
    outage["send"] = agent.post(
        reverse("draft_send", args=[outgoing.pk]),
        {
            "to": "sophie.martin@exemple.fr",
            "subject": "Re: Absence",
            "body": "Bien noté.",
            "seen": seen,
        },
        HTTP_HX_REQUEST="true",
    )
    newcomer = Client()
    outage["login"] = newcomer.post(
        reverse("account_login"), {"login": bob.email, "password": PASSWORD}
    )
    outage["page after login"] = newcomer.get(reverse("inbox"))

    for name, response in outage.items():
        assert response.status_code < 500, f"{name}: {response.status_code}"
        body = response.content.decode()
        assert str(redis_app.port) not in body, f"{name} shows the internal address"
    assert outage["login"].status_code == 302
    assert outage["page after login"].status_code == 200  # signed in, without Redis
    assert "Live updates are paused" in outage["list"].content.decode()
    assert "Live updates are paused" in outage["live list poll"].content.decode()
    assert 'hx-trigger="every 30s,' in outage["live list poll"].content.decode()
    assert "not shown for now" in outage["presence"].content.decode()
    assert "Absence de Léa" in outage["conversation"].content.decode()

    # The work is kept in the database, nothing was sent yet.
    outgoing.refresh_from_db()
    notification = Notification.objects.get(recipient=bob, conversation=conversation)
    assert outgoing.state == SendState.QUEUED
    assert notification.email_due and notification.emailed_at is None
    assert smtp_server.messages == []

    redis_app.start()
    time.sleep(resilient_cache.RETRY_AFTER + 0.1)
    # Live updates resume: the paused poll refreshes once, then the cheap 204 again.
    fresh = agent.get(poll, headers={"HX-Request": "true"})
    assert fresh.status_code == 200 and "Live updates are paused" not in fresh.content.decode()
    assert (
        agent.get(_poll_url(fresh.content.decode()), headers={"HX-Request": "true"}).status_code
        == 204
    )

    # The beat's sweeps, twice: a duplicate task must not send anything twice.
    later = timezone.now() + timedelta(minutes=5)
    for _ in range(2):
        assert outgoing_recover_stuck(now=later).requeued == 1
        assert notification_emails_requeue(now=later) == 1
    broker = redis.Redis.from_url(redis_app.url)
    assert broker.llen("celery") == 4
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=60):
        _wait(lambda: broker.llen("celery") == 0 and not broker.hlen("unacked"), "the queue")
    outgoing.refresh_from_db()
    notification.refresh_from_db()
    assert outgoing.state == SendState.SENT
    assert notification.emailed_at is not None and not notification.email_due
    to_customer = [m for m in smtp_server.messages if "sophie.martin@exemple.fr" in m.rcpt_tos]
    to_bob = [m for m in smtp_server.messages if bob.email in m.rcpt_tos]
    assert len(to_customer) == 1 and b"Bien not" in to_customer[0].raw
    assert len(to_bob) == 1
    assert len(smtp_server.messages) == 2


def test_cache_outage_is_a_miss_and_costs_no_timeout(redis_app):
    cache.set("k", "v")
    assert cache.get("k") == "v"
    redis_app.kill()
    started = time.monotonic()
    for _ in range(50):
        assert cache.get("k") is None
        cache.set("k", "w")
        assert cache.add("new", 1) is False
        assert cache.get_many(["k", "new"]) == {}
        with pytest.raises(ValueError):
            cache.incr("counter")
    # The breaker: one failed connection, not 250 of them.
    assert time.monotonic() - started < 3
    # Rate-limit counters stay in force in this process meanwhile.
    assert cache.add("ratelimit:contact:127.0.0.1", 1, 60) is True
    assert cache.incr("ratelimit:contact:127.0.0.1") == 2


def test_one_client_serves_every_operation_and_survives_a_restart(redis_app, monkeypatch):
    built = []
    original = redis.Redis.__init__

    def counted(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    for i in range(20):
        cache.set(f"k{i}", i)
        assert cache.get(f"k{i}") == i
    assert cache.get_many(["k1", "k2"]) == {"k1": 1, "k2": 2}
    assert len(built) <= 1  # Django alone builds one per operation: 41 here
    # The kept client's pool reconnects: a restarted Redis serves (empty) at once after the
    # breaker's pause.
    redis_app.kill()
    assert cache.get("k1") is None
    redis_app.start()
    time.sleep(resilient_cache.RETRY_AFTER + 0.1)
    cache.set("after", "restart")
    assert cache.get("after") == "restart"
    assert len(built) <= 1


def test_an_export_asked_for_while_the_broker_is_down_is_built_later(
    redis_app, alice_client, workspace
):
    redis_app.kill()
    response = alice_client.post(reverse("privacy_export_start"))
    assert response.status_code == 302
    export = DataExport.objects.get()
    assert export.state == ExportState.QUEUED  # kept, waiting for the broker

    redis_app.start()
    assert export_requeue_stale(now=timezone.now()) == 0  # not stale yet: its task may run
    assert export_requeue_stale(now=timezone.now() + timedelta(minutes=10)) == 1
    broker = redis.Redis.from_url(redis_app.url)
    assert broker.llen("celery") == 1
