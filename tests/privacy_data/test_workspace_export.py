"""Self-service export: the whole workspace, built in the background, sealed at rest, every
message byte for byte in its .eml and in its mailbox's mbox; and a user's own data."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.keys import keys_for
from inbox.actions.tags import conversation_tag_add, tag_create
from inbox.export import eml_path, mbox_path, mboxrd_unquote
from inbox.mail.sealing import stored_attachment_row
from inbox.models import Attachment, Conversation, Message
from privacy.gdpr.export_archive import export_build, export_purge_expired
from privacy.models import DataExport, ExportKind, ExportState
from tests.privacy_data.conftest import ingest
from tests.privacy_data.conftest import mail as make_mail
from tests.test_export import CORPUS, _ingest_corpus, _note
from trupeo.storage import object_store, read_sealed


def invoice(workspace, number: str):
    from billing.models import Invoice

    return Invoice.objects.create(
        workspace=workspace,
        workspace_name=workspace.name,
        workspace_slug=workspace.slug,
        stripe_customer_id="cus_test",
        stripe_invoice_id=f"in_{number}",
        number=number,
        status="paid",
        currency="eur",
        amount_excl_tax=1000,
        tax=200,
        total=1200,
        issued_at=timezone.now(),
        keep_until=timezone.now() + timedelta(days=3653),
    )


FROM_LINE_BODY = (
    "Bonjour,\r\nFrom the start, this line must survive mbox quoting.\r\n>From too.\r\n"
)


@pytest.fixture
def alice_mail(workspace, bob, mailbox):
    by_key = _ingest_corpus(mailbox)
    conversation = Conversation.objects.filter(workspace=workspace).order_by("id").first()
    _note(conversation, bob, "Rappeler la famille — « urgent ».")
    tag = tag_create(workspace=workspace, name="Absences", color="blue")
    conversation_tag_add(conversation=conversation, tag=tag, actor=bob)
    raw = make_mail(
        sender="Parent <parent@example.fr>",
        to=mailbox.address,
        subject="Certificat",
        message_id="certif-1@example.fr",
        body=FROM_LINE_BODY,
        attachment=b"%PDF-1.4 certificat",
    )
    ingest(mailbox, [raw], start=500)
    message = Message.objects.get(provider_key__endswith=":1:500")
    by_key[message.provider_key] = raw
    return by_key


def _mbox_messages(data: bytes) -> list[bytes]:
    """Split an mboxrd file back into messages (From_ lines, unquoting, blank separator)."""
    messages, current = [], None
    for line in data.split(b"\n"):
        if line.startswith(b"From "):
            if current is not None:
                messages.append(current)
            current = []
            continue
        current.append(mboxrd_unquote(line))
    messages.append(current)
    return [b"\n".join(lines) for lines in messages]


def test_an_owner_exports_the_whole_workspace(
    alice_client,
    alice,
    workspace,
    alice_mail,
    charlie,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    invoice(workspace, "F-2026-0001")
    queued = []
    monkeypatch.setattr(
        "privacy.tasks.build_export.delay", lambda export_id: queued.append(export_id)
    )
    with django_capture_on_commit_callbacks(execute=True):  # queued once committed
        response = alice_client.post(reverse("privacy_export_start"))
    assert response.status_code == 302
    export = DataExport.objects.get()
    assert (export.kind, export.state, export.requested_by) == (
        ExportKind.WORKSPACE,
        ExportState.QUEUED,
        alice,
    )
    assert queued == [export.pk]
    # Asking again while it is being built does not start a second one.
    alice_client.post(reverse("privacy_export_start"))
    assert DataExport.objects.count() == 1

    # The page polls the row while it is queued.
    page = alice_client.get(reverse("privacy_data")).content.decode()
    assert reverse("privacy_export_progress", args=[export.pk]) in page and "<progress" in page

    with django_capture_on_commit_callbacks(execute=True):
        export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.state == ExportState.READY and export.progress == 100
    assert export.expires_at - export.finished_at == timedelta(days=7)

    # Sealed at rest: the stored object is not a ZIP and holds no clear text.
    stored = object_store().get(export.object_key)
    assert export.object_key.startswith(f"ws/{workspace.pk}/")
    assert b"PK\x03\x04" not in stored[:64]
    assert b"conversations.json" not in stored and b"Rappeler" not in stored

    # Announced by email, with the page's address.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [alice.email]
    assert "/settings/data/" in mail.outbox[0].body

    fragment = alice_client.get(
        reverse("privacy_export_progress", args=[export.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "hx-trigger" not in fragment  # done: the polling stops
    download = alice_client.get(reverse("privacy_export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert archive.testzip() is None
    names = archive.namelist()

    messages = Message.objects.filter(workspace=workspace).select_related("folder", "mailbox")
    assert messages.count() == len(CORPUS) + 1
    mbox = _mbox_messages(archive.read(mbox_path("scolarite@lycee-verne.fr")))
    assert len(mbox) == messages.count()
    for message in messages:
        raw = alice_mail[message.provider_key]
        path = eml_path(
            address=message.mailbox.address,
            role=message.folder.role,
            received_at=message.received_at,
            message_id=message.pk,
        )
        assert archive.read(path) == raw, path  # byte for byte
        # In the mbox too: line endings kept, quoting undone (only the final newline
        # that separates messages is not part of the message).
        assert raw.rstrip(b"\r\n") in {m.rstrip(b"\r\n") for m in mbox}, path

    for attachment in Attachment.objects.filter(workspace=workspace).select_related("message"):
        content = read_sealed(
            attachment.object_key,
            keys_for(workspace),
            field="attachment.content",
            row=stored_attachment_row(attachment),
        )
        listed = [n for n in names if n.startswith(f"attachments/{attachment.message_id}/")]
        assert any(archive.read(n) == content for n in listed), attachment.pk
    assert any(n.endswith("certificat médical.pdf") for n in names)

    conversations = json.loads(archive.read("conversations.json"))
    assert len(conversations) == Conversation.objects.filter(workspace=workspace).count()
    assert any(
        n["body"] == "Rappeler la famille — « urgent »." for c in conversations for n in c["notes"]
    )
    members = json.loads(archive.read("members.json"))
    assert {m["email"] for m in members} == {"alice@lycee-verne.fr", "bob@lycee-verne.fr"}
    assert {m["role"] for m in members} == {"owner", "agent"}
    billing = json.loads(archive.read("billing.json"))
    assert [r["number"] for r in billing if r["kind"] == "invoice"] == ["F-2026-0001"]
    tags = json.loads(archive.read("tags.json"))
    assert [(t["name"], t["color"]) for t in tags] == [("Absences", "blue")]
    assert sum(c["tags"] == ["Absences"] for c in conversations) == 1
    readme = archive.read("README.txt").decode()
    assert "mbox" in readme and "members.json" in readme and "pièces jointes" in readme
    for name in names:
        assert b"agence-ouest" not in archive.read(name)  # nothing of charlie's


def test_agents_cannot_export_and_expired_exports_are_purged(
    bob_client, alice_client, workspace, mailbox
):
    assert bob_client.post(reverse("privacy_export_start")).status_code == 403
    export = DataExport.objects.create(workspace=workspace, kind=ExportKind.WORKSPACE)
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert bob_client.get(reverse("privacy_export_download", args=[export.pk])).status_code == 403
    store = object_store()
    assert store.exists(export.object_key)

    later = timezone.now() + timedelta(days=7, minutes=1)
    assert export_purge_expired(now=later - timedelta(days=1)) == 0
    assert export_purge_expired(now=later) == 1
    assert not store.exists(export.object_key)
    export.refresh_from_db()
    assert (export.state, export.object_key) == (ExportState.EXPIRED, "")
    assert alice_client.get(reverse("privacy_export_download", args=[export.pk])).status_code == 404


def test_a_failed_upload_leaves_no_object_and_says_so(workspace, mailbox, monkeypatch):
    from trupeo.storage import LocalObjectStore

    ingest(
        mailbox,
        [make_mail(sender="a@example.fr", to=mailbox.address, subject="x", message_id="x@e")],
    )
    before = set(object_store().iter_keys(f"ws/{workspace.pk}/"))

    def broken(self, key, chunks, *, durable=True):
        for n, _chunk in enumerate(chunks):
            if n == 1:
                raise OSError("disk full")

    monkeypatch.setattr(LocalObjectStore, "put_stream", broken)
    export = DataExport.objects.create(workspace=workspace, kind=ExportKind.WORKSPACE)
    with pytest.raises(OSError):
        export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.state == ExportState.FAILED and export.object_key == ""
    assert set(object_store().iter_keys(f"ws/{workspace.pk}/")) == before


def test_a_user_downloads_their_own_account_data(bob_client, bob, workspace, mailbox):
    ingest(
        mailbox,
        [make_mail(sender="p@example.fr", to=mailbox.address, subject="s", message_id="s@e")],
    )
    _note(Conversation.objects.get(workspace=workspace), bob, "Ma note à moi")
    assert bob_client.get(reverse("privacy_account_export")).status_code == 405
    response = bob_client.post(reverse("privacy_account_export"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["profile"]["email"] == "bob@lycee-verne.fr"
    assert data["memberships"] == [
        {
            "workspace": workspace.name,
            "role": "agent",
            "joined_at": data["memberships"][0]["joined_at"],
        }
    ]
    assert [n["body"] for n in data["notes"]] == ["Ma note à moi"]
    assert data["email_addresses"][0]["email"] == "bob@lycee-verne.fr"
