"""Microsoft 365 over Graph, against the stateful fake: delta pages, replays, removals,
lost sync state (410), throttling (429 + Retry-After), immutable ids, rotated tokens."""

import pytest

from inbox.mail.providers.base import cursor_load
from inbox.mail.sync import mailbox_sync
from inbox.models import FolderRole, Message, SyncState
from tests.mail import french_message
from tests.providers.conftest import MS_ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)

DELTA = r"/v1\.0/me/mailFolders/(inbox|sentitems)/messages/delta"
VALUE = r"/v1\.0/me/messages/[^/]+/\$value"


def test_delta_sync_pages_replays_and_removals(microsoft_fake, graph_box):
    microsoft_fake.replay = True
    ids = [microsoft_fake.add_message(MS_ADDRESS, french_message(n)) for n in range(23)]
    sent = microsoft_fake.add_message(
        MS_ADDRESS, french_message(90, sender=MS_ADDRESS), folder="sentitems"
    )
    summary = mailbox_sync(mailbox_id=graph_box.pk, batch_size=10)
    assert summary.ok, summary.error
    assert summary.new == 24
    stored = dict(
        Message.objects.filter(mailbox=graph_box).values_list("provider_key", "folder__role")
    )
    # Immutable ids, because Trupeo asked for them; each message once despite the replays.
    assert set(stored) == {*ids, sent}
    assert stored[sent] == FolderRole.SENT
    assert microsoft_fake.count("GET", VALUE) == 24  # replayed items are not fetched again
    inbox = graph_box.folders.get(role=FolderRole.INBOX)
    assert "$deltatoken=" in cursor_load(inbox, graph_box)["link"]

    microsoft_fake.mark_read(MS_ADDRESS, ids[0])
    microsoft_fake.delete_message(MS_ADDRESS, ids[1])
    new = microsoft_fake.add_message(MS_ADDRESS, french_message(30))
    again = mailbox_sync(mailbox_id=graph_box.pk)
    assert again.ok, again.error
    assert again.new == 1
    assert Message.objects.get(mailbox=graph_box, provider_key=ids[0]).is_seen
    assert Message.objects.get(mailbox=graph_box, provider_key=ids[1]).expunged_at is not None
    assert Message.objects.filter(mailbox=graph_box, provider_key=new).exists()
    assert microsoft_fake.count("GET", VALUE) == 25


def test_next_link_is_saved_after_each_committed_page(microsoft_fake, graph_box, monkeypatch):
    """A pass that dies halfway resumes from the last committed page, adding nothing twice."""
    from inbox.mail.providers import base

    for n in range(30):
        microsoft_fake.add_message(MS_ADDRESS, french_message(n))
    commits = {"n": 0}
    original = base.ApiSync.commit

    def dying_commit(self, page, future):
        original(self, page, future)
        commits["n"] += 1
        if commits["n"] == 2:
            raise RuntimeError("worker killed")

    monkeypatch.setattr(base.ApiSync, "commit", dying_commit)
    first = mailbox_sync(mailbox_id=graph_box.pk, batch_size=10)
    assert not first.ok
    assert Message.objects.filter(mailbox=graph_box).count() == 20
    inbox = graph_box.folders.get(role=FolderRole.INBOX)
    assert "$skiptoken=" in cursor_load(inbox, graph_box)["link"]
    monkeypatch.setattr(base.ApiSync, "commit", original)
    values = microsoft_fake.count("GET", VALUE)
    second = mailbox_sync(mailbox_id=graph_box.pk, batch_size=10)
    assert second.ok, second.error
    assert Message.objects.filter(mailbox=graph_box).count() == 30
    assert microsoft_fake.count("GET", VALUE) == values + 10


def test_lost_sync_state_resyncs_without_duplicates(microsoft_fake, graph_box):
    for n in range(8):
        microsoft_fake.add_message(MS_ADDRESS, french_message(n))
    assert mailbox_sync(mailbox_id=graph_box.pk).new == 8
    microsoft_fake.lose_sync_state()
    microsoft_fake.add_message(MS_ADDRESS, french_message(8))
    gone = Message.objects.filter(mailbox=graph_box).first().provider_key
    microsoft_fake.delete_message(MS_ADDRESS, gone)
    values = microsoft_fake.count("GET", VALUE)
    summary = mailbox_sync(mailbox_id=graph_box.pk)
    assert summary.ok, summary.error
    assert summary.folders[0].resynced
    assert summary.new == 1
    assert microsoft_fake.count("GET", VALUE) == values + 1
    assert Message.objects.filter(mailbox=graph_box).count() == 9
    assert Message.objects.get(mailbox=graph_box, provider_key=gone).expunged_at is not None


def test_429_waits_for_retry_after(microsoft_fake, graph_box, monkeypatch):
    from inbox.mail.providers import api

    waits = []
    monkeypatch.setattr(api, "pause", waits.append)
    microsoft_fake.add_message(MS_ADDRESS, french_message(1))
    microsoft_fake.retry_after = 7
    microsoft_fake.throttle_next = 2
    summary = mailbox_sync(mailbox_id=graph_box.pk)
    assert summary.ok, summary.error
    assert waits[:2] == [7.0, 7.0]
    assert Message.objects.filter(mailbox=graph_box).count() == 1


def test_at_most_four_requests_at_once(microsoft_fake, graph_box):
    microsoft_fake.latency = 0.05
    for n in range(40):
        microsoft_fake.add_message(MS_ADDRESS, french_message(n, body_words=10))
    summary = mailbox_sync(mailbox_id=graph_box.pk)
    assert summary.ok, summary.error
    # Never more than Graph allows (how fully the 4 are used is for bench/oauth_sync.py).
    assert 2 <= microsoft_fake.max_in_flight <= 4
    assert microsoft_fake.throttled == 0


def test_refresh_tokens_rotate_and_invalid_grant_needs_reconnection(
    microsoft_fake, graph_box, mailoutbox
):
    from inbox.mail.mailboxes import mailbox_credentials

    first = mailbox_credentials(graph_box)["refresh_token"]
    microsoft_fake.add_message(MS_ADDRESS, french_message(1))
    assert mailbox_sync(mailbox_id=graph_box.pk).ok
    graph_box.refresh_from_db()
    rotated = mailbox_credentials(graph_box)["refresh_token"]
    assert rotated and rotated != first  # the new one is kept: the old one no longer works
    # The access token expires: the next pass refreshes with the rotated token.
    microsoft_fake.access_tokens.clear()
    microsoft_fake.add_message(MS_ADDRESS, french_message(2))
    assert mailbox_sync(mailbox_id=graph_box.pk).ok
    microsoft_fake.revoke_all(MS_ADDRESS)
    summary = mailbox_sync(mailbox_id=graph_box.pk)
    assert not summary.ok
    graph_box.refresh_from_db()
    assert graph_box.sync_state == SyncState.RECONNECT
    assert "reconnect" in graph_box.last_error.lower()
    assert len(mailoutbox) == 1


def test_one_failing_mailbox_does_not_stop_others(
    microsoft_fake, google_fake, graph_box, gmail_box
):
    from inbox.mail.sync import mailboxes_due
    from tests.providers.conftest import GMAIL_ADDRESS

    google_fake.add_message(GMAIL_ADDRESS, french_message(1))
    microsoft_fake.revoke_all(MS_ADDRESS)
    due = mailboxes_due()
    assert {graph_box.pk, gmail_box.pk} <= set(due)
    results = {pk: mailbox_sync(mailbox_id=pk) for pk in (graph_box.pk, gmail_box.pk)}
    assert not results[graph_box.pk].ok
    assert results[gmail_box.pk].ok and results[gmail_box.pk].new == 1
    assert graph_box.pk not in mailboxes_due()  # reconnection needed: not retried


def test_refresh_ahead_of_expiry_happens_once_under_the_lock(microsoft_fake, graph_box):
    """Two threads (a sync and a send) needing a token that expires in two minutes: one
    refresh — a second one would spend the rotated refresh token and lose the mailbox."""
    import threading
    import time

    from inbox.mail.mailboxes import mailbox_credentials
    from inbox.mail.providers.oauth import access_token, credentials_save
    from inbox.models import Mailbox

    credentials = mailbox_credentials(graph_box)
    credentials.update(access_token="old", expires_at=time.time() + 120)
    credentials_save(mailbox=graph_box, credentials=credentials)
    token_calls = microsoft_fake.count("POST", r"/common/oauth2/v2\.0/token")
    results, barrier = [], threading.Barrier(2)

    def need_token():
        from django.db import connection

        box = Mailbox.objects.select_related("workspace").get(pk=graph_box.pk)
        barrier.wait()
        results.append(access_token(box))
        connection.close()

    threads = [threading.Thread(target=need_token) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1] != "old"
    assert microsoft_fake.count("POST", r"/common/oauth2/v2\.0/token") == token_calls + 1
    graph_box.refresh_from_db()
    assert graph_box.sync_state == SyncState.ACTIVE
