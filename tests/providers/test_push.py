"""Push from Gmail (Pub/Sub) and Microsoft Graph (change notifications), end to end: the
fakes post to the app's live server, the app verifies and queues a real sync (run eagerly
here), and forged, replayed or malformed notifications change nothing."""

import base64
import hashlib
import json
import time
from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from inbox.mail.providers.connect import mailbox_disconnect_oauth
from inbox.mail.push import push_due, push_start
from inbox.mail.push.common import notification_url_problem
from inbox.mail.sync import mailbox_sync, mailboxes_due
from inbox.models import Message, PushSubscription
from inbox.tasks import renew_push_subscriptions
from tests.mail import french_message
from tests.parts.http_fake import rsa_signing_key
from tests.providers.conftest import GMAIL_ADDRESS, MS_ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# --- Gmail ---------------------------------------------------------------------------------


@pytest.fixture
def gmail_push(settings, google_fake, live_server, eager):
    endpoint = live_server.url + reverse("gmail_push")
    settings.GMAIL_PUBSUB_TOPIC = google_fake.topic
    settings.GMAIL_PUSH_SERVICE_ACCOUNT = google_fake.service_account
    settings.GMAIL_PUSH_AUDIENCE = endpoint
    google_fake.push_endpoint = google_fake.push_audience = endpoint
    return google_fake


@pytest.fixture
def watched(gmail_push, gmail_box):
    assert mailbox_sync(mailbox_id=gmail_box.pk).ok
    push = push_start(mailbox=gmail_box)
    assert push is not None and push.kind == PushSubscription.Kind.GMAIL
    return gmail_box


def _pubsub_body(address: str, history_id: int = 1) -> dict:
    data = json.dumps({"emailAddress": address, "historyId": history_id}).encode()
    return {
        "message": {"data": base64.b64encode(data).decode(), "messageId": "1"},
        "subscription": "projects/trupeo-tests/subscriptions/gmail-push",
    }


def test_gmail_watch_then_a_new_message_is_synced_by_push(gmail_push, watched):
    watch = gmail_push.account(GMAIL_ADDRESS).watch
    assert watch["topic"] == gmail_push.topic and watch["labels"] == ["INBOX"]
    push = PushSubscription.objects.get(mailbox=watched)
    assert timedelta(days=6, hours=23) < push.expires_at - timezone.now() <= timedelta(days=7)

    key = gmail_push.add_message(GMAIL_ADDRESS, french_message(1))
    assert _wait_for(lambda: Message.objects.filter(mailbox=watched, provider_key=key).exists())
    assert _wait_for(lambda: [d["status"] for d in gmail_push.deliveries] == [204])
    push.refresh_from_db()
    assert push.last_notified_at is not None
    # A change outside the watched label (a sent message) publishes nothing.
    gmail_push.add_message(GMAIL_ADDRESS, french_message(2), labels=("SENT",))
    time.sleep(0.3)
    assert len(gmail_push.deliveries) == 1


def _bent_tokens(fake) -> dict[str, str]:
    other_kid, other_pem, _cert = rsa_signing_key("attacker")
    return {
        "unsigned": "eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.",
        "garbage": "not-a-jwt",
        "another key": fake.signed_token(private_pem=other_pem, key_id=other_kid),
        "another key, our key id": fake.signed_token(private_pem=other_pem),
        "expired": fake.signed_token(issued=time.time() - 7200, lifetime=3600),
        "wrong audience": fake.signed_token(audience="https://elsewhere.example/hooks/gmail/"),
        "another service account": fake.signed_token(email="attacker@evil.iam.gserviceaccount.com"),
        "unverified email": fake.signed_token(verified=False),
        "another issuer": fake.signed_token(issuer="https://evil.example"),
    }


def test_forged_expired_or_misdirected_tokens_are_refused_and_sync_nothing(gmail_push, watched):
    gmail_push.add_message(GMAIL_ADDRESS, french_message(1))  # pushed with a good token
    assert _wait_for(lambda: Message.objects.filter(mailbox=watched).count() == 1)
    gmail_push.push_endpoint = ""  # Gmail's own pushes stop: only the attacker's arrive
    gmail_push.add_message(GMAIL_ADDRESS, french_message(2))
    body = _pubsub_body(GMAIL_ADDRESS, 10**9)
    for label, token in _bent_tokens(gmail_push).items():
        response = requests.post(
            timeout=10,
            url=gmail_push.push_audience,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401, label
    no_header = requests.post(timeout=10, url=gmail_push.push_audience, json=body)
    assert no_header.status_code == 401
    basic = requests.post(
        timeout=10, url=gmail_push.push_audience, json=body, headers={"Authorization": "Basic eA=="}
    )
    assert basic.status_code == 401
    time.sleep(0.3)
    assert Message.objects.filter(mailbox=watched).count() == 1  # the second was never synced


def test_forged_key_ids_do_not_turn_each_request_into_a_fetch_from_google(gmail_push, watched):
    from inbox.mail.push import gmail

    gmail._transport.forget()  # a fresh process: nothing kept, nothing refetched lately
    body = _pubsub_body(GMAIL_ADDRESS, 10**9)
    for n in range(12):
        _kid, pem, _cert = rsa_signing_key(f"attacker-{n}")
        token = gmail_push.signed_token(private_pem=pem, key_id=f"random-kid-{n}")
        response = requests.post(
            timeout=10,
            url=gmail_push.push_audience,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401
    # The first unknown key id may refetch once; the eleven after it are refused from memory.
    assert gmail_push.count("GET", r"/oauth2/v1/certs") <= 2


def test_a_replayed_push_only_syncs_again_and_stores_nothing_twice(gmail_push, watched):
    gmail_push.push_endpoint, endpoint = "", gmail_push.push_endpoint
    gmail_push.add_message(GMAIL_ADDRESS, french_message(1))
    gmail_push.push_endpoint = endpoint
    body, token = _pubsub_body(GMAIL_ADDRESS, 5), gmail_push.signed_token()
    for _ in range(3):
        assert gmail_push.push(body, token=token) == 204
    assert Message.objects.filter(mailbox=watched).count() == 1


def test_an_unknown_mailbox_is_answered_2xx_without_work(gmail_push, watched, caplog):
    assert gmail_push.push(_pubsub_body("stranger@example.org")) == 204
    assert gmail_push.push(_pubsub_body(GMAIL_ADDRESS.upper())) == 204  # case folded
    assert "does not watch" in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"message": 1}',
        b'{"message": {"data": "%%%"}}',
        b'{"message": {"data": "eyJ9"}}',
        json.dumps(_pubsub_body("x@example.org", 1)).replace('"1"', "null").encode(),
        json.dumps(
            {
                "message": {
                    "data": base64.b64encode(b'{"emailAddress": [], "historyId": "x"}').decode()
                }
            }
        ).encode(),
        b"\xff\xfe" * 100,
    ],
)
def test_garbage_from_a_verified_sender_never_5xx(gmail_push, watched, body):
    response = requests.post(
        timeout=10,
        url=gmail_push.push_audience,
        data=body,
        headers={
            "Authorization": f"Bearer {gmail_push.signed_token()}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 204


def test_gmail_hook_answers_only_post(gmail_push, live_server):
    assert requests.get(timeout=10, url=gmail_push.push_audience).status_code == 405


def test_watch_renewed_daily_and_stopped_on_disconnect(gmail_push, watched):
    assert watched.pk not in push_due()  # a fresh watch: nothing to do
    PushSubscription.objects.filter(mailbox=watched).update(
        expires_at=timezone.now() + timedelta(days=5, hours=23)
    )
    assert watched.pk in push_due()  # a day old: asked again, as Google recommends
    watches = gmail_push.count("POST", "/gmail/v1/users/me/watch")
    renew_push_subscriptions.delay()
    push = PushSubscription.objects.get(mailbox=watched)
    assert push.expires_at - timezone.now() > timedelta(days=6, hours=23)
    assert gmail_push.count("POST", "/gmail/v1/users/me/watch") > watches

    mailbox_disconnect_oauth(mailbox=watched)
    assert gmail_push.account(GMAIL_ADDRESS).watch is None
    assert not PushSubscription.objects.filter(mailbox=watched).exists()
    assert gmail_push.count("POST", "/gmail/v1/users/me/stop") == 1


def test_a_refused_watch_is_recorded_and_polling_goes_on(gmail_box, gmail_push, settings):
    settings.GMAIL_PUBSUB_TOPIC = "projects/someone-else/topics/gmail"
    assert push_start(mailbox=gmail_box) is None
    push = PushSubscription.objects.get(mailbox=gmail_box)
    assert "403" in push.last_error
    assert gmail_box.pk in push_due()
    assert gmail_box.pk in mailboxes_due()


def test_polling_slows_down_while_push_is_live(gmail_push, watched):
    from inbox.models import Mailbox

    Mailbox.objects.filter(pk=watched.pk).update(
        last_attempt_at=timezone.now() - timedelta(minutes=2)
    )
    assert watched.pk not in mailboxes_due()
    PushSubscription.objects.filter(mailbox=watched).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert watched.pk in mailboxes_due()  # push lapsed: polled every minute again


def test_the_poll_interval_is_a_setting(gmail_box, settings):
    from inbox.models import Mailbox

    Mailbox.objects.filter(pk=gmail_box.pk).update(
        last_attempt_at=timezone.now() - timedelta(minutes=2)
    )
    assert gmail_box.pk in mailboxes_due()
    settings.TRUPEO_POLL_SECONDS = 600
    assert gmail_box.pk not in mailboxes_due()


# --- Microsoft Graph -----------------------------------------------------------------------


@pytest.fixture
def graph_push(settings, microsoft_fake, live_server, eager):
    settings.GRAPH_NOTIFICATION_URL = live_server.url + reverse("graph_notifications")
    microsoft_fake.allow_http = True  # the live server speaks HTTP; Graph itself wants HTTPS
    return microsoft_fake


@pytest.fixture
def subscribed(graph_push, graph_box):
    assert mailbox_sync(mailbox_id=graph_box.pk).ok
    push = push_start(mailbox=graph_box)
    assert push is not None and push.kind == PushSubscription.Kind.GRAPH
    return graph_box


def _graph_item(push: PushSubscription, client_state: str, **extra) -> dict:
    return {
        "subscriptionId": push.external_id,
        "changeType": "created",
        "resource": "Users/user-1/Messages/x",
        "clientState": client_state,
        **extra,
    }


def test_graph_subscription_with_handshake_then_new_mail_is_synced(graph_push, subscribed):
    assert [v["echoed"] for v in graph_push.validations] == [True]
    push = PushSubscription.objects.get(mailbox=subscribed)
    (sub,) = graph_push.subscriptions.values()
    assert push.external_id == sub.id
    # The secret is kept hashed only.
    assert push.secret_hash == hashlib.sha256(sub.client_state.encode()).hexdigest()
    assert sub.client_state not in push.secret_hash
    assert timedelta(hours=69) < sub.expiration - timezone.now() <= timedelta(minutes=4230)

    key = graph_push.add_message(MS_ADDRESS, french_message(1))
    assert _wait_for(lambda: Message.objects.filter(mailbox=subscribed, provider_key=key).exists())
    assert _wait_for(lambda: [d["status"] for d in graph_push.deliveries] == [202])


def test_wrong_client_state_or_unknown_subscription_is_ignored(graph_push, subscribed, caplog):
    push = PushSubscription.objects.get(mailbox=subscribed)
    graph_push.subscriptions.clear()  # Graph's own notifications stop; only forged ones come
    graph_push.add_message(MS_ADDRESS, french_message(1))
    subscriptions_made = graph_push.count("POST", "/v1.0/subscriptions")
    forged = [
        _graph_item(push, "guessed"),
        _graph_item(push, ""),
        _graph_item(push, None),
        {**_graph_item(push, "x"), "subscriptionId": "00000000-0000-0000-0000-000000000000"},
        {**_graph_item(push, "x"), "lifecycleEvent": "subscriptionRemoved"},
        {**_graph_item(push, "x"), "lifecycleEvent": "missed"},
    ]
    for item in forged:
        response = requests.post(timeout=10, url=graph_push_url(graph_push), json={"value": [item]})
        assert response.status_code == 202
    time.sleep(0.3)
    assert not Message.objects.filter(mailbox=subscribed).exists()
    assert graph_push.count("POST", "/v1.0/subscriptions") == subscriptions_made
    assert "wrong clientState" in caplog.text


def graph_push_url(fake) -> str:
    from django.conf import settings

    return settings.GRAPH_NOTIFICATION_URL


def test_a_replayed_notification_only_syncs_again(graph_push, subscribed):
    key = graph_push.add_message(MS_ADDRESS, french_message(1))
    assert _wait_for(lambda: Message.objects.filter(mailbox=subscribed, provider_key=key).exists())
    assert _wait_for(lambda: graph_push.deliveries)
    body = graph_push.deliveries[0]["body"]
    for _ in range(3):
        assert graph_push.post_notification(graph_push_url(graph_push), body) == 202
    assert Message.objects.filter(mailbox=subscribed).count() == 1


def test_validation_echo_is_plain_text_and_post_only(graph_push, live_server):
    url = graph_push_url(graph_push)
    token = "<script>alert(1)</script> & é"
    response = requests.post(timeout=10, url=url, params={"validationToken": token})
    assert response.status_code == 200 and response.text == token
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert requests.get(timeout=10, url=url, params={"validationToken": token}).status_code == 405


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b'{"value": 1}',
        b'{"value": [1, "x", null]}',
        b'{"value": [{"subscriptionId": []}]}',
        b"\xff" * 50,
    ],
)
def test_graph_hook_never_5xx_on_garbage(graph_push, live_server, body):
    response = requests.post(timeout=10, url=graph_push_url(graph_push), data=body)
    assert response.status_code == 202


def test_lifecycle_notifications(graph_push, subscribed):
    push = PushSubscription.objects.get(mailbox=subscribed)
    (sub,) = graph_push.subscriptions.values()
    before = sub.expiration
    patches = graph_push.count("PATCH", r"/v1\.0/subscriptions/[^/]+")
    # reauthorizationRequired: the subscription is renewed (PATCH).
    assert graph_push.lifecycle(MS_ADDRESS, "reauthorizationRequired") == [202]
    assert graph_push.count("PATCH", r"/v1\.0/subscriptions/[^/]+") == patches + 1
    assert graph_push.subscriptions[sub.id].expiration >= before
    # missed: a catch-up sync.
    graph_push.subscriptions[sub.id].notification_url = "http://127.0.0.1:9/"  # lost on the way
    key = graph_push.add_message(MS_ADDRESS, french_message(1))
    assert graph_push.lifecycle(MS_ADDRESS, "missed") == [202]
    assert _wait_for(lambda: Message.objects.filter(mailbox=subscribed, provider_key=key).exists())
    # subscriptionRemoved: a new subscription, validated again, with a new secret.
    assert graph_push.lifecycle(MS_ADDRESS, "subscriptionRemoved") == [202]
    (new,) = graph_push.subscriptions.values()
    renewed = PushSubscription.objects.get(mailbox=subscribed)
    assert new.id != sub.id and renewed.external_id == new.id
    assert renewed.secret_hash != push.secret_hash
    assert len(graph_push.validations) == 2


def test_renewal_extends_or_recreates(graph_push, subscribed):
    assert subscribed.pk not in push_due()
    PushSubscription.objects.filter(mailbox=subscribed).update(
        expires_at=timezone.now() + timedelta(hours=20)
    )
    assert subscribed.pk in push_due()
    patches = graph_push.count("PATCH", r"/v1\.0/subscriptions/[^/]+")
    renew_push_subscriptions.delay()
    assert graph_push.count("PATCH", r"/v1\.0/subscriptions/[^/]+") == patches + 1
    push = PushSubscription.objects.get(mailbox=subscribed)
    assert push.expires_at - timezone.now() > timedelta(hours=69)
    graph_push.subscriptions.clear()  # expired or dropped on Graph's side: 404 on PATCH
    PushSubscription.objects.filter(mailbox=subscribed).update(
        expires_at=timezone.now() + timedelta(hours=1)
    )
    renew_push_subscriptions.delay()
    assert len(graph_push.subscriptions) == 1
    assert PushSubscription.objects.get(mailbox=subscribed).external_id in graph_push.subscriptions


def test_disconnect_deletes_the_subscription(graph_push, subscribed):
    mailbox_disconnect_oauth(mailbox=subscribed)
    assert not graph_push.subscriptions
    assert not PushSubscription.objects.filter(mailbox=subscribed).exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hooks/graph/",
        "https://127.0.0.1/hooks/graph/",
        "https://10.1.2.3/hooks/graph/",
        "https://[::1]/hooks/graph/",
        "https://169.254.169.254/hooks/graph/",
        "https://localhost/hooks/graph/",
        "ftp://trupeo.example/hooks/graph/",
        "/hooks/graph/",
    ],
)
def test_notification_url_never_points_to_a_private_host_in_production(
    graph_box, graph_push, settings, url
):
    settings.TRUPEO_MAIL_ALLOW_PRIVATE_HOSTS = False
    settings.GRAPH_NOTIFICATION_URL = url
    assert notification_url_problem(url)
    assert push_start(mailbox=graph_box) is None
    assert graph_push.count("POST", "/v1.0/subscriptions") == 0
    assert not graph_push.validations


def test_a_failed_handshake_leaves_no_subscription(graph_box, graph_push, settings, live_server):
    settings.GRAPH_NOTIFICATION_URL = live_server.url + "/healthz/"  # does not echo
    assert push_start(mailbox=graph_box) is None
    assert not graph_push.subscriptions
    assert [(v["url"], v["echoed"]) for v in graph_push.validations] == [
        (settings.GRAPH_NOTIFICATION_URL, False)
    ]
    assert "validation" in PushSubscription.objects.get(mailbox=graph_box).last_error
