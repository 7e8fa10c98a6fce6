"""Gmail over its API, against the stateful fake: full sync, history, expiry, quota."""

import pytest

from inbox.mail.sync import mailbox_sync
from inbox.models import Conversation, FolderRole, Message, SyncState, ThreadReason
from tests.mail import french_message
from tests.providers.conftest import GMAIL_ADDRESS

pytestmark = pytest.mark.django_db(transaction=True)


def test_full_sync_then_history_stores_each_message_once(google_fake, gmail_box):
    ids = [google_fake.add_message(GMAIL_ADDRESS, french_message(n)) for n in range(45)]
    sent = google_fake.add_message(
        GMAIL_ADDRESS, french_message(99, sender="scolarite@lycee-verne.fr"), labels=("SENT",)
    )
    summary = mailbox_sync(mailbox_id=gmail_box.pk, batch_size=20)
    assert summary.ok, summary.error
    assert summary.new == 46
    stored = dict(
        Message.objects.filter(mailbox=gmail_box).values_list("provider_key", "folder__role")
    )
    assert set(stored) == {*ids, sent}
    assert stored[sent] == FolderRole.SENT and stored[ids[0]] == FolderRole.INBOX
    # Pages of 20: INBOX took three listings, SENT one.
    assert google_fake.count("GET", "/gmail/v1/users/me/messages") == 4
    assert google_fake.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+") == 46

    # New mail, a message read, one deleted: history only, nothing fetched twice.
    new = google_fake.add_message(GMAIL_ADDRESS, french_message(50))
    google_fake.change_labels(GMAIL_ADDRESS, ids[0], remove=["UNREAD"], add=["STARRED"])
    google_fake.delete_message(GMAIL_ADDRESS, ids[1])
    gets_before = google_fake.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+")
    again = mailbox_sync(mailbox_id=gmail_box.pk)
    assert again.ok, again.error
    assert again.new == 1
    assert google_fake.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+") == gets_before + 1
    assert Message.objects.get(mailbox=gmail_box, provider_key=new)
    first = Message.objects.get(mailbox=gmail_box, provider_key=ids[0])
    assert (first.is_seen, first.is_flagged) == (True, True)
    assert Message.objects.get(mailbox=gmail_box, provider_key=ids[1]).expunged_at is not None
    assert Message.objects.filter(mailbox=gmail_box).count() == 47

    # Archived (out of INBOX): removed, as over IMAP; moved back: live again.
    google_fake.change_labels(GMAIL_ADDRESS, ids[2], remove=["INBOX"])
    assert mailbox_sync(mailbox_id=gmail_box.pk).folders[0].expunged == 1
    assert Message.objects.get(mailbox=gmail_box, provider_key=ids[2]).expunged_at is not None
    google_fake.change_labels(GMAIL_ADDRESS, ids[2], add=["INBOX"])
    assert mailbox_sync(mailbox_id=gmail_box.pk).new == 0
    assert Message.objects.get(mailbox=gmail_box, provider_key=ids[2]).expunged_at is None


def test_expired_history_resyncs_without_duplicates(google_fake, gmail_box):
    for n in range(12):
        google_fake.add_message(GMAIL_ADDRESS, french_message(n))
    assert mailbox_sync(mailbox_id=gmail_box.pk).new == 12
    late = google_fake.add_message(GMAIL_ADDRESS, french_message(12))
    gone = next(iter(google_fake.account(GMAIL_ADDRESS).messages))
    google_fake.delete_message(GMAIL_ADDRESS, gone)
    google_fake.expire_history(GMAIL_ADDRESS)
    gets = google_fake.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+")
    summary = mailbox_sync(mailbox_id=gmail_box.pk)
    assert summary.ok, summary.error
    assert summary.folders[0].resynced
    assert summary.new == 1
    # Only the missing message is fetched: stored ones are recognised by id.
    assert google_fake.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+") == gets + 1
    assert Message.objects.filter(mailbox=gmail_box).count() == 13
    assert Message.objects.filter(mailbox=gmail_box, provider_key=late).exists()
    # Deleted while the history was lost: found missing by the full listing.
    assert summary.folders[0].expunged == 1
    assert Message.objects.get(mailbox=gmail_box, provider_key=gone).expunged_at is not None


def test_thread_id_is_a_threading_hint(google_fake, gmail_box):
    first = google_fake.add_message(GMAIL_ADDRESS, french_message(1, subject="Inscription"))
    # A reply without In-Reply-To / References, which only Gmail's thread id ties together.
    google_fake.add_message(
        GMAIL_ADDRESS, french_message(2, subject="Autre chose"), thread_id=first
    )
    mailbox_sync(mailbox_id=gmail_box.pk)
    assert Conversation.objects.filter(mailbox=gmail_box).count() == 1
    conversation = Conversation.objects.get(mailbox=gmail_box)
    assert conversation.provider_thread_id == first
    assert set(conversation.messages.values_list("thread_reason", flat=True)) == {
        ThreadReason.NEW,
        ThreadReason.PROVIDER,
    }


def test_thread_id_joins_messages_of_the_same_batch(google_fake, gmail_box, monkeypatch):
    """Two messages of one Gmail thread in one ingest batch, the second naming no parent
    (Gmail threads by subject too): one conversation, not two."""
    import inbox.mail.providers.base

    batches = []
    ingest = inbox.mail.providers.base.ingest_batch

    def recorded(**kwargs):
        batches.append(len(kwargs["mails"]))
        return ingest(**kwargs)

    monkeypatch.setattr(inbox.mail.providers.base, "ingest_batch", recorded)
    first = google_fake.add_message(GMAIL_ADDRESS, french_message(1, subject="Inscription"))
    second = google_fake.add_message(
        GMAIL_ADDRESS, french_message(2, subject="Pièces du dossier"), thread_id=first
    )
    other = google_fake.add_message(GMAIL_ADDRESS, french_message(3, subject="Cantine"))
    summary = mailbox_sync(mailbox_id=gmail_box.pk)
    assert summary.ok, summary.error

    assert batches == [3]  # the page in one batch
    messages = {m.provider_key: m for m in Message.objects.filter(mailbox=gmail_box)}
    assert messages[first].conversation_id == messages[second].conversation_id
    assert messages[other].conversation_id != messages[first].conversation_id
    assert Conversation.objects.filter(mailbox=gmail_box).count() == 2
    assert {messages[first].thread_reason, messages[second].thread_reason} == {
        ThreadReason.NEW,
        ThreadReason.PROVIDER,
    }
    assert messages[first].conversation.provider_thread_id == first


def test_quota_is_respected_and_429_is_waited_out(google_fake, gmail_box):
    for n in range(120):
        google_fake.add_message(GMAIL_ADDRESS, french_message(n, body_words=10))
    summary = mailbox_sync(mailbox_id=gmail_box.pk, batch_size=100)
    assert summary.ok, summary.error
    quota = google_fake.account(GMAIL_ADDRESS).quota
    assert quota.peak <= 250
    assert quota.refused == 0  # paced under the quota, never throttled
    assert Message.objects.filter(mailbox=gmail_box).count() == 120


@pytest.mark.parametrize("status", [429, 403])
def test_rate_limit_answers_are_backed_off(google_fake, gmail_box, status):
    """Another client of the same account spends the quota: Gmail answers 429 and the sync
    waits and slows down instead of failing."""
    for n in range(30):
        google_fake.add_message(GMAIL_ADDRESS, french_message(n, body_words=10))
    # Trupeo believes it has the whole quota; the fake grants a fifth of it.
    google_fake.account(GMAIL_ADDRESS).quota.limit = 50
    google_fake.rate_status = status
    summary = mailbox_sync(mailbox_id=gmail_box.pk)
    assert summary.ok, summary.error
    assert google_fake.account(GMAIL_ADDRESS).quota.refused > 0
    assert Message.objects.filter(mailbox=gmail_box).count() == 30


def test_revoked_grant_needs_reconnection_and_emails_admins_once(
    google_fake, gmail_box, mailoutbox
):
    google_fake.add_message(GMAIL_ADDRESS, french_message(1))
    google_fake.revoke_all(GMAIL_ADDRESS)
    summary = mailbox_sync(mailbox_id=gmail_box.pk)
    assert not summary.ok
    assert "reconnect" in summary.error.lower()
    gmail_box.refresh_from_db()
    assert gmail_box.sync_state == SyncState.RECONNECT
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@lycee-verne.fr"]
    assert GMAIL_ADDRESS in mailoutbox[0].body
    token_calls = google_fake.count("POST", "/token")
    # Never retried on its own: the next pass does not even ask Google.
    again = mailbox_sync(mailbox_id=gmail_box.pk)
    assert not again.ok
    assert google_fake.count("POST", "/token") == token_calls
    assert len(mailoutbox) == 1


def test_pages_shrink_after_big_messages(google_fake, gmail_box, monkeypatch):
    """Listings say nothing of sizes: after a page of big messages the next ones are smaller,
    so memory stays bounded whatever the attachments."""
    from inbox.mail.providers import base

    monkeypatch.setattr(base, "MAX_PAGE_BYTES", 50_000)
    for n in range(60):
        google_fake.add_message(GMAIL_ADDRESS, french_message(n, body_words=3000))  # ~20 KB
    summary = mailbox_sync(mailbox_id=gmail_box.pk, batch_size=20)
    assert summary.ok, summary.error
    assert summary.new == 60
    # INBOX: two pages of 20 (the second is listed while the first is stored), then pages of
    # 5 (the floor) for the last 20; SENT: one empty listing. Without the cap: 3 + 1.
    assert google_fake.count("GET", "/gmail/v1/users/me/messages") == 7


def test_a_killed_full_sync_resumes_from_its_saved_page_token(google_fake, gmail_box, monkeypatch):
    from inbox.mail.providers import base

    for n in range(50):
        google_fake.add_message(GMAIL_ADDRESS, french_message(n, body_words=10))
    commits = {"n": 0}
    original = base.ApiSync.commit

    def dying_commit(self, page, future):
        original(self, page, future)
        commits["n"] += 1
        if commits["n"] == 2:
            raise RuntimeError("worker killed")

    monkeypatch.setattr(base.ApiSync, "commit", dying_commit)
    assert not mailbox_sync(mailbox_id=gmail_box.pk, batch_size=20).ok
    assert Message.objects.filter(mailbox=gmail_box).count() == 40
    monkeypatch.setattr(base.ApiSync, "commit", original)
    gets = google_fake.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+")
    summary = mailbox_sync(mailbox_id=gmail_box.pk, batch_size=20)
    assert summary.ok, summary.error
    assert Message.objects.filter(mailbox=gmail_box).count() == 50
    # Resumed at the third page: only its 10 messages are fetched.
    assert google_fake.count("GET", r"/gmail/v1/users/me/messages/[0-9a-f]+") == gets + 10


def test_a_page_stored_in_several_batches_is_stored_in_order_of_arrival(
    google_fake, gmail_box, monkeypatch
):
    """Gmail lists newest first; a page stored in batches as it arrives must still let a
    thread's first message start its conversation (here: each message a batch of its own)."""
    import inbox.mail.providers.base

    monkeypatch.setattr(inbox.mail.providers.base, "INGEST_EVERY", 1)
    first = google_fake.add_message(GMAIL_ADDRESS, french_message(1, subject="Inscription"))
    reply = google_fake.add_message(
        GMAIL_ADDRESS, french_message(2, subject="Re: Inscription"), thread_id=first
    )
    summary = mailbox_sync(mailbox_id=gmail_box.pk)
    assert summary.ok, summary.error
    messages = {m.provider_key: m for m in Message.objects.filter(mailbox=gmail_box)}
    assert messages[first].thread_reason == ThreadReason.NEW
    assert messages[reply].thread_reason == ThreadReason.PROVIDER
    assert messages[first].pk < messages[reply].pk  # stored first
