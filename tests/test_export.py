"""`manage.py workspace_export`: every message byte for byte, the conversations and notes in
JSON, decrypted — and nothing of another workspace."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.keys import keys_for
from inbox.export import eml_path, workspace_export
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.sealing import note_row
from inbox.models import Conversation, FolderRole, Message, Note
from tests.factories import workspace_for

CORPUS = sorted((Path(__file__).parent / "fixtures" / "eml").glob("*.eml"))
MARKER = "Zébulon-confidentiel-charlie"


def _ingest_corpus(mailbox) -> dict[str, bytes]:
    """The whole corpus into the INBOX (one into Sent), keyed the way the IMAP sync keys it."""
    inbox = mailbox.folders.get(role=FolderRole.INBOX)
    sent = mailbox.folders.get(role=FolderRole.SENT)
    by_key: dict[str, bytes] = {}
    inbox_mails, sent_mails = [], []
    for n, path in enumerate(CORPUS, start=1):
        folder = sent if path.name == "sent_copy_with_bcc.eml" else inbox
        key = f"{folder.pk}:1:{n}"
        raw = path.read_bytes()
        by_key[key] = raw
        (sent_mails if folder is sent else inbox_mails).append(RawMail(provider_key=key, raw=raw))
    ingest_batch(mailbox=mailbox, folder=inbox, mails=inbox_mails)
    ingest_batch(mailbox=mailbox, folder=sent, mails=sent_mails)
    return by_key


def _note(conversation, author, body: str) -> Note:
    note = Note.objects.create(
        workspace=conversation.workspace, conversation=conversation, author=author, body_sealed=b""
    )
    note.body_sealed = keys_for(conversation.workspace).seal_text(
        body, field="note.body", row=note_row(note.pk)
    )
    note.save(update_fields=["body_sealed"])
    return note


@pytest.fixture
def alice_mail(workspace, bob):
    mailbox = mailbox_create(workspace=workspace, address="scolarite@lycee-verne.fr")
    by_key = _ingest_corpus(mailbox)
    conversation = Conversation.objects.filter(workspace=workspace).order_by("id").first()
    conversation.assignee = bob
    conversation.save(update_fields=["assignee"])
    _note(conversation, bob, "Appeler la famille avant jeudi — « urgent ».")
    return mailbox, by_key


@pytest.fixture
def charlie_mail(charlie):
    workspace = workspace_for(charlie, "Agence Ouest export")
    mailbox = mailbox_create(workspace=workspace, address="contact@agence-ouest.fr")
    inbox = mailbox.folders.get(role=FolderRole.INBOX)
    raw = (
        "From: Client <client@exemple.fr>\r\nTo: contact@agence-ouest.fr\r\n"
        f"Subject: {MARKER}\r\nMessage-ID: <charlie-1@exemple.fr>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{MARKER}\r\n"
    ).encode()
    ingest_batch(mailbox=mailbox, folder=inbox, mails=[RawMail(f"{inbox.pk}:1:1", raw)])
    _note(Conversation.objects.get(workspace=workspace), charlie, MARKER)
    return workspace


def test_export_is_byte_for_byte_complete_and_isolated(
    workspace, alice_mail, charlie_mail, bob, tmp_path
):
    mailbox, by_key = alice_mail
    output = tmp_path / "exports" / "lycee.zip"
    out = io.StringIO()

    call_command("workspace_export", workspace.slug, "--output", str(output), stdout=out)

    printed = out.getvalue()
    assert f"Exported {len(CORPUS)} messages" in printed
    assert str(output) in printed
    assert sorted(p.name for p in output.parent.iterdir()) == ["lycee.zip"]  # no temp file left

    with zipfile.ZipFile(output) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        emls = [n for n in names if n.endswith(".eml")]
        assert len(emls) == len(CORPUS) == Message.objects.filter(workspace=workspace).count()
        assert len(set(names)) == len(names)
        for message in Message.objects.filter(workspace=workspace).select_related("folder"):
            path = eml_path(
                address=mailbox.address,
                role=message.folder.role,
                received_at=message.received_at,
                message_id=message.pk,
            )
            assert path.startswith(f"mailboxes/scolarite@lycee-verne.fr/{message.folder.role}/")
            assert archive.read(path) == by_key[message.provider_key], path

        conversations = json.loads(archive.read("conversations.json"))
        assert {c["id"] for c in conversations} == set(
            Conversation.objects.filter(workspace=workspace).values_list("id", flat=True)
        )
        listed = [m["eml"] for c in conversations for m in c["messages"]]
        assert sorted(listed) == sorted(emls)
        assert all(c["mailbox"] == "scolarite@lycee-verne.fr" for c in conversations)
        noted = next(c for c in conversations if c["notes"])
        assert noted["assignee"] == bob.email
        assert noted["notes"][0]["author"] == bob.email
        assert noted["notes"][0]["body"] == "Appeler la famille avant jeudi — « urgent »."
        invoice = next(
            m
            for c in conversations
            for m in c["messages"]
            if m["message_id"] == "<inv-2024-0917.1726563941@northwind-supplies.co.uk>"
        )
        assert invoice["subject"] == "Invoice INV-2024-0917 – Agence Lumière"
        assert {"sent", "inbox"} == {m["eml"].split("/")[2] for m in map(dict, _all(conversations))}

        assert json.loads(archive.read("tags.json")) == []
        readme = archive.read("README.txt").decode("utf-8")
        assert "octet pour octet" in readme and "conversations.json" in readme

        # Nothing of charlie's workspace, anywhere in the archive.
        for name in names:
            data = archive.read(name)
            assert MARKER.encode() not in data, name
            assert b"agence-ouest" not in data, name


def _all(conversations):
    return [m for c in conversations for m in c["messages"]]


def test_export_of_an_empty_workspace(workspace, tmp_path):
    result = workspace_export(workspace=workspace, output=tmp_path / "vide.zip")
    assert (result.messages, result.conversations, result.notes) == (0, 0, 0)
    with zipfile.ZipFile(result.path) as archive:
        assert json.loads(archive.read("conversations.json")) == []
        assert sorted(archive.namelist()) == ["README.txt", "conversations.json", "tags.json"]


def test_unknown_workspace_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="slug"):
        call_command("workspace_export", "nope", "--output", str(tmp_path / "x.zip"))
    assert not (tmp_path / "x.zip").exists()
