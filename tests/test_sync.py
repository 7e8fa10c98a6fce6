"""IMAP sync against a real Dovecot: exact counts, no duplicates, flags, expunges, renumbering."""

import pytest

from accounts.keys import keys_for
from inbox.mail.ingest import ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sealing import stored_message_row
from inbox.mail.sync import mailbox_sync
from inbox.models import Attachment, Conversation, Mailbox, Message, SyncState, ThreadReason
from inbox.selectors.conversation_page import message_view
from tests.mail import french_message
from tests.sync_worker import s3_bucket_use
from trupeo.storage import open_sealed

pytestmark = pytest.mark.django_db


@pytest.fixture
def imap_account(dovecot):
    user, password = dovecot.add_user("scolarite")
    dovecot.create_folder(user, "Sent")
    return user, password


@pytest.fixture
def mailbox(workspace, dovecot, imap_account):
    user, password = imap_account
    return mailbox_create(
        workspace=workspace,
        address=f"{user}@lycee-verne.fr",
        name="Scolarité",
        credentials={"imap_password": password, "smtp_password": password},
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
    )


def test_initial_sync_stores_every_message_once(dovecot, imap_account, mailbox):
    user, _ = imap_account
    for n in range(25):
        dovecot.append(user, "INBOX", french_message(n))
    summary = mailbox_sync(mailbox_id=mailbox.pk, batch_size=7)
    assert summary.ok, summary.error
    assert summary.new == 25
    assert Message.objects.filter(mailbox=mailbox).count() == 25
    again = mailbox_sync(mailbox_id=mailbox.pk)
    assert again.new == 0
    assert Message.objects.filter(mailbox=mailbox).count() == 25
    mailbox.refresh_from_db()
    assert mailbox.last_success_at is not None and mailbox.sync_state == SyncState.ACTIVE


def test_new_mail_then_flags_and_expunge(dovecot, imap_account, mailbox):
    user, _ = imap_account
    uids = [dovecot.append(user, "INBOX", french_message(n)) for n in range(3)]
    mailbox_sync(mailbox_id=mailbox.pk)
    dovecot.set_flags(user, "INBOX", uids[0], [b"\\Seen", b"\\Flagged"])
    dovecot.expunge(user, "INBOX", uids[1])
    dovecot.append(user, "INBOX", french_message(3))
    summary = mailbox_sync(mailbox_id=mailbox.pk)
    inbox = summary.folders[0]
    assert (inbox.new, inbox.flags_updated, inbox.expunged) == (1, 1, 1)
    first = Message.objects.get(provider_key__endswith=f":{uids[0]}")
    assert first.is_seen and first.is_flagged
    assert Message.objects.get(provider_key__endswith=f":{uids[1]}").expunged_at is not None


def test_uidvalidity_change_resyncs_without_duplicates(dovecot, imap_account, mailbox):
    user, _ = imap_account
    for n in range(6):
        dovecot.append(user, "INBOX", french_message(n))
    mailbox_sync(mailbox_id=mailbox.pk)
    ids_before = set(Message.objects.values_list("pk", flat=True))
    old = dovecot.uidvalidity(user, "INBOX")
    assert dovecot.change_uidvalidity(user, "INBOX") != old
    summary = mailbox_sync(mailbox_id=mailbox.pk)
    assert summary.folders[0].resynced
    assert summary.folders[0].new == 0 and summary.folders[0].adopted == 6
    assert set(Message.objects.values_list("pk", flat=True)) == ids_before
    assert not Message.objects.filter(expunged_at__isnull=False).exists()
    # Re-keyed, and still readable: the sealed values stay bound to the key they came under.
    keys = keys_for(mailbox.workspace)
    for message in Message.objects.all():
        assert not message.provider_key.startswith(message.sealed_as.rsplit(":", 1)[0] + ":")
        assert message_view(keys, message).subject.startswith("Absence")
        raw = b"".join(
            open_sealed(
                message.raw_object, keys, field="message.raw", row=stored_message_row(message)
            )
        )
        assert raw.startswith(b"From:") or b"\nFrom:" in raw or b"Subject:" in raw


def test_duplicate_message_ids_stay_two_messages(dovecot, imap_account, mailbox):
    user, _ = imap_account
    dovecot.append(user, "INBOX", french_message(1, message_id="<same@parent.fr>"))
    dovecot.append(user, "INBOX", french_message(2, message_id="<same@parent.fr>"))
    mailbox_sync(mailbox_id=mailbox.pk)
    assert Message.objects.filter(mailbox=mailbox).count() == 2


def test_replies_thread_and_reopen_a_closed_conversation(dovecot, imap_account, mailbox):
    user, _ = imap_account
    dovecot.append(user, "INBOX", french_message(1, message_id="<q1@parent.fr>"))
    mailbox_sync(mailbox_id=mailbox.pk)
    conversation = Conversation.objects.get()
    conversation.status = "closed"
    conversation.save()
    dovecot.append(
        user, "INBOX", french_message(2, in_reply_to="<q1@parent.fr>", subject="Re: Absence n°1")
    )
    mailbox_sync(mailbox_id=mailbox.pk)
    conversation.refresh_from_db()
    assert conversation.message_count == 2
    assert conversation.status == "open"
    reply = Message.objects.order_by("-pk").first()
    assert reply.thread_reason == ThreadReason.IN_REPLY_TO


def test_a_failing_mailbox_says_why_and_does_not_stop_others(
    dovecot,
    imap_account,
    mailbox,
    workspace,
):
    user, _ = imap_account
    dovecot.append(user, "INBOX", french_message(1))
    broken = mailbox_create(
        workspace=workspace,
        address="cassee@lycee-verne.fr",
        credentials={"imap_password": "wrong"},
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security="none",
        imap_username=user,
    )
    bad = mailbox_sync(mailbox_id=broken.pk)
    good = mailbox_sync(mailbox_id=mailbox.pk)
    assert not bad.ok
    assert "mot de passe" in bad.error  # in words, in the default language
    assert good.ok and good.new == 1
    broken.refresh_from_db()
    assert broken.sync_state == SyncState.ERROR and broken.consecutive_failures == 1
    assert broken.last_error == bad.error


def test_lease_keeps_two_syncs_apart(mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(
        sync_lease_owner="someone-else",
        sync_lease_until="2999-01-01T00:00:00Z",
    )
    assert mailbox_sync(mailbox_id=mailbox.pk).skipped_busy


def test_ingest_replay_adds_nothing(mailbox):
    from inbox.mail.ingest import RawMail

    folder = mailbox.folders.get(role="inbox")
    mails = [RawMail(provider_key=f"{folder.pk}:1:{n}", raw=french_message(n)) for n in range(4)]
    assert ingest_batch(mailbox=mailbox, folder=folder, mails=mails).created == 4
    assert ingest_batch(mailbox=mailbox, folder=folder, mails=mails).skipped == 4
    assert Message.objects.count() == 4


def test_replies_to_two_messages_of_one_conversation_in_one_batch_both_count(mailbox):
    # Two replies in one batch naming two different stored messages of the same conversation:
    # both must be added to one conversation object, not each to its own copy of the row.
    from inbox.mail.ingest import RawMail
    from inbox.models import Conversation

    folder = mailbox.folders.get(role="inbox")
    first = french_message(1, message_id="<a@famille.fr>")
    second = french_message(2, message_id="<b@famille.fr>", in_reply_to="<a@famille.fr>")
    ingest_batch(
        mailbox=mailbox,
        folder=folder,
        mails=[RawMail(f"{folder.pk}:1:1", first), RawMail(f"{folder.pk}:1:2", second)],
    )
    replies = [
        RawMail(f"{folder.pk}:1:3", french_message(3, in_reply_to="<a@famille.fr>")),
        RawMail(f"{folder.pk}:1:4", french_message(4, in_reply_to="<b@famille.fr>")),
    ]
    assert ingest_batch(mailbox=mailbox, folder=folder, mails=replies).created == 2
    conversation = Conversation.objects.get(mailbox=mailbox)
    assert conversation.message_count == 4 == conversation.messages.count()


@pytest.mark.django_db(transaction=True)
def test_idle_brings_new_mail_in_seconds(dovecot, imap_account, mailbox, eager):
    """The watcher queues a sync (run here and now by the eager queue) on new mail."""
    import threading
    import time

    from inbox.mail.idle import watch_mailbox

    user, _ = imap_account
    stop = threading.Event()
    watcher = threading.Thread(target=watch_mailbox, args=(mailbox.pk, stop), daemon=True)
    watcher.start()
    try:
        time.sleep(1.0)  # connected and idling
        dovecot.append(user, "INBOX", french_message(42))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not Message.objects.filter(mailbox=mailbox).exists():
            time.sleep(0.1)
        assert Message.objects.filter(mailbox=mailbox).count() == 1
    finally:
        stop.set()
        watcher.join(timeout=10)


def test_big_attachments_are_synced_in_small_batches(dovecot, imap_account, mailbox, monkeypatch):
    import inbox.mail.sync

    monkeypatch.setattr(inbox.mail.sync, "MAX_BATCH_BYTES", 3 * 1024 * 1024)
    batches = []
    real_sort = inbox.mail.sync.batch_sort
    monkeypatch.setattr(
        inbox.mail.sync,
        "batch_sort",
        lambda **kwargs: batches.append(len(kwargs["mails"])) or real_sort(**kwargs),
    )
    user, _ = imap_account
    payload = bytes(range(256)) * (6 * 1024)  # 1.5 MiB, 2 MiB once in base64
    for n in range(4):
        dovecot.append(user, "INBOX", big_message(n, payload))
    summary = mailbox_sync(mailbox_id=mailbox.pk, batch_size=50)
    assert summary.ok and summary.new == 4
    assert batches == [1, 1, 1, 1]  # never two 2 MiB messages in a 3 MiB batch
    assert list(Attachment.objects.values_list("size", flat=True)) == [len(payload)] * 4


def big_message(n: int, payload: bytes) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = f"parent{n}@famille.fr"
    msg["To"] = "scolarite@lycee-verne.fr"
    msg["Subject"] = f"Scan n°{n}"
    msg.set_content("Voici le scan.")
    msg.add_attachment(
        payload, maintype="application", subtype="octet-stream", filename=f"scan{n}.bin"
    )
    return msg.as_bytes()


def test_a_sync_logged_at_debug_level_writes_no_mail_content(
    dovecot, imap_account, mailbox, caplog
):
    import logging

    user, password = imap_account
    dovecot.append(user, "INBOX", french_message(7, subject="Dossier médical de Zébulon"))
    caplog.set_level(logging.DEBUG)
    summary = mailbox_sync(mailbox_id=mailbox.pk)
    assert summary.ok and summary.new == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Zébulon" not in logged and "=?utf-8?" not in logged.lower()
    assert "mot49" not in logged  # a word of the body
    assert password not in logged


def test_a_sync_into_r2_stores_every_object(dovecot, imap_account, mailbox, s3_server, settings):
    """The forked preparing workers upload to the bucket in the background; every row the
    sync commits points at an object that is there, whole."""
    import uuid

    from trupeo.storage import object_stores_forget, read_sealed

    bucket = f"trupeo-sync-{uuid.uuid4().hex[:12]}"
    s3_bucket_use(settings, s3_server, bucket)
    user, _ = imap_account
    sent = {}
    for n in range(12):
        raw = big_message(n, bytes([n]) * 3000) if n % 4 == 0 else french_message(n)
        sent[dovecot.append(user, "INBOX", raw)] = raw
    summary = mailbox_sync(mailbox_id=mailbox.pk, batch_size=2)  # 6 batches: workers used
    assert summary.ok and summary.new == 12, summary.error
    keys = keys_for(mailbox.workspace)
    for message in Message.objects.filter(mailbox=mailbox):
        raw = read_sealed(
            message.raw_object, keys, field="message.raw", row=stored_message_row(message)
        )
        uid = int(message.provider_key.rsplit(":", 1)[1])
        assert raw.replace(b"\r\n", b"\n") == sent[uid].replace(b"\r\n", b"\n")
    assert Attachment.objects.filter(message__mailbox=mailbox).count() == 3
    object_stores_forget()
