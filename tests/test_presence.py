"""Presence: who is viewing or replying, kept in the cache (Redis in CI), gone ~30 s after the
last heartbeat."""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.models import Conversation, FolderRole
from inbox.presence import (
    REPLYING,
    TTL,
    VIEWING,
    Presence,
    presence_leave,
    presence_others,
    presence_touch,
)
from tests.mail import french_message


@pytest.fixture
def conversation(workspace):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    ingest_batch(
        mailbox=mailbox,
        folder=mailbox.folders.get(role=FolderRole.INBOX),
        mails=[RawMail(provider_key="1:1:1", raw=french_message(1))],
    )
    return Conversation.objects.get(mailbox=mailbox)


@pytest.fixture
def english(alice, bob):
    for user in (alice, bob):
        user.language = "en"
        user.save(update_fields=["language"])


def test_others_see_viewing_and_replying_replying_first():
    now = 1_000_000.0
    presence_touch(conversation_id=7, user_id=1, replying=False, now=now)
    presence_touch(conversation_id=7, user_id=2, replying=True, now=now)
    presence_touch(conversation_id=8, user_id=3, replying=True, now=now)  # another conversation
    others = presence_others(conversation_id=7, user_ids=[1, 2, 3], exclude=None, now=now + 1)
    assert others == [Presence(2, REPLYING), Presence(1, VIEWING)]
    assert presence_others(conversation_id=7, user_ids=[1, 2], exclude=2, now=now + 1) == [
        Presence(1, VIEWING)
    ]


def test_entries_expire_after_the_ttl():
    now = 1_000_000.0
    presence_touch(conversation_id=7, user_id=1, replying=True, now=now)
    assert presence_others(conversation_id=7, user_ids=[1], now=now + TTL - 1)
    assert presence_others(conversation_id=7, user_ids=[1], now=now + TTL + 1) == []
    # A heartbeat renews it.
    presence_touch(conversation_id=7, user_id=1, replying=False, now=now + TTL)
    assert presence_others(conversation_id=7, user_ids=[1], now=now + TTL + 1) == [
        Presence(1, VIEWING)
    ]


def test_the_cache_itself_forgets_them(settings):
    """The cache entry has a timeout of its own (no growth in Redis): seen through the cache."""
    presence_touch(conversation_id=7, user_id=1, replying=False)
    key = "presence:7:1"
    assert cache.get(key) is not None
    if hasattr(cache, "ttl"):  # django-redis style; the built-in backends hide it
        assert 0 < cache.ttl(key) <= TTL + 5
    cache.touch(key, 1)
    time.sleep(1.2)
    assert cache.get(key) is None
    assert presence_others(conversation_id=7, user_ids=[1]) == []


def test_leaving_removes_at_once():
    presence_touch(conversation_id=7, user_id=1, replying=False)
    presence_leave(conversation_id=7, user_id=1)
    assert presence_others(conversation_id=7, user_ids=[1]) == []


def test_heartbeat_view_shows_teammates(alice_client, bob_client, conversation, english):
    url = reverse("conversation_presence", args=[conversation.pk])
    html = alice_client.post(url, {"activity": "viewing"}).content.decode()
    assert "is viewing" not in html  # alone: nobody else
    html = bob_client.post(url, {"activity": "replying"}).content.decode()
    assert "Alice Martin is viewing" in html
    assert "Bob Durand" not in html  # not oneself
    html = alice_client.post(url, {"activity": "viewing"}).content.decode()
    assert "Bob Durand is replying" in html
    # Bob stops writing: his next heartbeat says so.
    bob_client.post(url, {"activity": "viewing"})
    assert "Bob Durand is viewing" in alice_client.post(url).content.decode()


def test_heartbeat_is_post_only_and_scoped(alice_client, charlie_client, conversation):
    url = reverse("conversation_presence", args=[conversation.pk])
    assert alice_client.get(url).status_code == 405
    assert charlie_client.post(url).status_code == 404
    assert (
        presence_others(conversation_id=conversation.pk, user_ids=[u for u in range(1, 10)]) == []
    )


def test_heartbeat_costs_a_constant_number_of_queries(
    alice_client, bob_client, conversation, django_assert_max_num_queries, workspace
):
    from tests.factories import UserFactory, add_member

    url = reverse("conversation_presence", args=[conversation.pk])
    bob_client.post(url)
    with django_assert_max_num_queries(12) as small:
        alice_client.post(url)
    for n in range(10):
        add_member(workspace, UserFactory(email=f"agent{n}@lycee-verne.fr"))
    with django_assert_max_num_queries(len(small.captured_queries)):
        alice_client.post(url)


def test_leaving_the_page_removes_at_once(alice_client, bob_client, conversation, english):
    url = reverse("conversation_presence", args=[conversation.pk])
    bob_client.post(url, {"activity": "replying"})
    assert "Bob Durand is replying" in alice_client.post(url).content.decode()
    assert bob_client.post(url, {"activity": "leave"}).status_code == 204
    assert "Bob Durand" not in alice_client.post(url).content.decode()
