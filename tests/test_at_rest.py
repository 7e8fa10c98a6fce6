"""Nothing of a message is readable at rest: a scan of every table and every stored object."""

from pathlib import Path

import pytest
from django.db import connection

from accounts.keys import keys_for
from inbox.actions.reading import sender_trust
from inbox.actions.rules import rule_create
from inbox.actions.tags import conversation_tag_add, tag_create
from inbox.actions.triage import note_add
from inbox.mail.ingest import RawMail, ingest_batch
from inbox.mail.mailboxes import mailbox_create
from inbox.mail.parsing import parse_message
from inbox.models import Conversation
from trupeo.storage import object_store

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = sorted((FIXTURES / "eml").glob("*.eml")) + sorted((FIXTURES / "headers").glob("*.eml"))


def _needles(raw: bytes) -> set[bytes]:
    """Plaintext that must never be found: subjects, bodies, addresses, names, file names."""
    p = parse_message(raw)
    found = {p.subject}
    for a in (p.from_, *p.to, *p.cc, *p.bcc, *p.reply_to):
        if a:
            found |= {a.address, a.name}
    found |= {att.filename for att in p.attachments}
    text = " ".join(p.text.split())
    found |= {text[i : i + 24] for i in range(0, min(len(text), 400), 80)}
    return {s.encode() for s in found if s and len(s.strip()) >= 8}


def _database_bytes() -> bytes:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    return b"\n".join(chunks)


@pytest.mark.django_db
def test_no_content_in_clear_in_the_database_or_the_object_store(workspace, alice, settings):
    mailbox = mailbox_create(
        workspace=workspace,
        address="scolarite@lycee-verne.fr",
        credentials={"imap_password": "imap-secret-Xy9!", "smtp_password": "smtp-secret-Zq4!"},
    )
    folder = mailbox.folders.get(role="inbox")
    raws = [path.read_bytes() for path in CORPUS]
    mails = [RawMail(provider_key=f"{folder.pk}:1:{n}", raw=raw) for n, raw in enumerate(raws)]
    result = ingest_batch(mailbox=mailbox, folder=folder, mails=mails)
    assert result.created == len(CORPUS)

    # What the team adds: tag names, notes, rule patterns, senders whose images show.
    conversation = Conversation.objects.filter(mailbox=mailbox).first()
    tag = tag_create(workspace=workspace, name="Dossier Lefebvre-Garnier")
    conversation_tag_add(conversation=conversation, tag=tag, actor=alice)
    note_add(conversation=conversation, author=alice, body="Rappeler Mme Garnier-Lefebvre")
    rule_create(mailbox=mailbox, kind="match", field="from", pattern="garnier-famille", tag=tag)
    sender_trust(keys=keys_for(workspace), workspace=workspace, address="news@villeneuve.fr")

    needles = set().union(*(_needles(raw) for raw in raws))
    needles |= {b"imap-secret-Xy9!", b"smtp-secret-Zq4!"}
    needles |= {b"Lefebvre-Garnier", b"Garnier-Lefebvre", b"garnier-famille", b"villeneuve.fr"}
    assert len(needles) > 100, "the scan would prove little"

    haystacks = {"database": _database_bytes()}
    store = object_store()
    objects = list(store.iter_keys("ws/"))
    assert len(objects) >= len(CORPUS)
    for key in objects:
        haystacks[f"object {key}"] = store.get(key)
        assert b"/" not in key.encode()[len(f"ws/{workspace.pk}/") :], "object names reveal nothing"

    leaks = [
        (where, needle.decode(errors="replace"))
        for where, data in haystacks.items()
        for needle in needles
        if needle in data
    ]
    assert leaks == []
