"""A workspace's mail, conversations and notes as one ZIP file, decrypted (GDPR portability).

Layout (explained in French in the README.txt inside the archive):

    README.txt
    conversations.json      every conversation: mailbox, status, assignee, subject, its
                            messages (with the path of their .eml) and its notes
    tags.json               the tags (name, colour); each conversation lists its own
    mailboxes/<address>/<folder role>/<received date>-<message id>.eml
                            each message byte for byte as the server gave it
  with `ExportOptions(mbox=True)`:
    mbox/<address>.mbox     every message of a mailbox in one mbox file (mboxrd quoting)
  with `ExportOptions(attachments=True)`:
    attachments/<message id>/<position>-<file name>
                            each attachment, decoded
  and any extra JSON files the caller adds (members, billing records…).

`ExportOptions(message_ids=…)` limits the archive to those messages (and their
conversations): the export of one person's data for a GDPR access request.

Streaming: rows are read in batches with `.iterator()`, each message's raw bytes go from
object storage through decryption into its ZIP entry chunk by chunk, and the JSON is written
one conversation at a time, so memory stays flat whatever the size of the workspace. The
archive is written beside its destination and renamed into place when complete: a crash
leaves no half-written file under the requested name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.utils import timezone

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.mail.sealing import (
    note_row,
    open_json,
    stored_attachment_row,
    stored_message_row,
)
from inbox.models import Attachment, Conversation, Message, Note
from inbox.selectors.conversation_rows import conversation_summary
from inbox.selectors.tags import tags_by_conversation, workspace_tags
from trupeo.crypto import WorkspaceKeys
from trupeo.storage import ObjectStore, object_store, open_sealed

BATCH = 200  # conversations per query batch (their messages and notes are fetched per batch)
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")
_ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)  # the earliest time a ZIP entry can carry


@dataclass(frozen=True)
class ExportResult:
    path: Path
    messages: int
    conversations: int
    notes: int


def eml_path(*, address: str, role: str | None, received_at: datetime, message_id: int) -> str:
    """Where a message goes in the archive (a pure function: both passes agree on it)."""
    mailbox = _UNSAFE.sub("_", address).strip(".") or "mailbox"
    folder = _UNSAFE.sub("_", role or "other")
    stamp = received_at.astimezone(UTC).strftime("%Y-%m-%d-%H%M%S")
    return f"mailboxes/{mailbox}/{folder}/{stamp}-{message_id}.eml"


@dataclass(frozen=True)
class ExtraFile:
    """A JSON file the caller adds to the archive, described in French in the README."""

    name: str
    value: object
    description: str


@dataclass
class ExportOptions:
    mbox: bool = False
    attachments: bool = False
    message_ids: list[int] | None = None  # None: every message of the workspace
    extra: list[ExtraFile] = field(default_factory=list)
    # Called with (messages done, messages in total) as the archive grows.
    progress: Callable[[int, int], None] | None = None


def workspace_export(
    *,
    workspace: Workspace,
    output: str | Path,
    store: ObjectStore | None = None,
    options: ExportOptions | None = None,
) -> ExportResult:
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=output.parent, prefix=".export-", suffix=".zip.part")
    try:
        with os.fdopen(fd, "wb") as handle:
            counts = workspace_export_write(
                workspace=workspace, stream=handle, store=store, options=options
            )
        os.replace(tmp_name, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return ExportResult(path=output, **counts)


def workspace_export_write(
    *,
    workspace: Workspace,
    stream,
    store: ObjectStore | None = None,
    options: ExportOptions | None = None,
) -> dict[str, int]:
    """Write the archive into any writable binary stream (seekable or not, e.g. a pipe
    into `put_sealed`); returns the counts of messages, conversations and notes."""
    options = options or ExportOptions()
    keys = keys_for(workspace)
    store = store or object_store()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        total = _messages(workspace, options).count()
        passes = 1 + options.mbox
        done = [0]

        def step() -> None:
            done[0] += 1
            if options.progress and (done[0] % 50 == 0 or done[0] == total * passes):
                options.progress(done[0], total * passes)

        messages = _write_messages(archive, workspace, keys, store, options, step)
        if options.mbox:
            _write_mboxes(archive, workspace, keys, store, options, step)
        if options.attachments:
            _write_attachments(archive, workspace, keys, store, options)
        conversations, notes = _write_conversations(archive, workspace, keys, options)
        tags = [dataclasses.asdict(tag) for tag in workspace_tags(workspace)]
        _write_text(archive, "tags.json", json.dumps(tags, ensure_ascii=False, indent=2) + "\n")
        for extra in options.extra:
            text = json.dumps(extra.value, ensure_ascii=False, indent=2, default=str)
            _write_text(archive, extra.name, text + "\n")
        _write_text(archive, "README.txt", _readme(workspace, messages, conversations, options))
    return {"messages": messages, "conversations": conversations, "notes": notes}


# --- the messages --------------------------------------------------------------------------------


def _messages(workspace: Workspace, options: ExportOptions):
    rows = Message.objects.filter(workspace=workspace, mailbox__workspace=workspace)
    if options.message_ids is not None:
        rows = rows.filter(pk__in=options.message_ids)
    return rows


def _write_messages(
    archive: zipfile.ZipFile,
    workspace: Workspace,
    keys: WorkspaceKeys,
    store: ObjectStore,
    options: ExportOptions,
    step: Callable[[], None],
) -> int:
    rows = (
        _messages(workspace, options)
        .select_related("mailbox", "folder")
        .only(
            "id",
            "provider_key",
            "raw_object",
            "raw_size",
            "received_at",
            "mailbox",
            "mailbox__address",
            "folder",
            "folder__role",
        )
        .order_by("mailbox_id", "folder_id", "received_at", "id")
    )
    count = 0
    for message in rows.iterator(chunk_size=500):
        info = zipfile.ZipInfo(
            eml_path(
                address=message.mailbox.address,
                role=message.folder.role if message.folder else None,
                received_at=message.received_at,
                message_id=message.pk,
            ),
            date_time=_zip_time(message.received_at),
        )
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        chunks = open_sealed(
            message.raw_object,
            keys,
            field="message.raw",
            row=stored_message_row(message),
            store=store,
        )
        # force_zip64: the size is only known once written; a huge message must not fail.
        with archive.open(info, "w", force_zip64=message.raw_size > 1 << 30) as entry:
            for chunk in chunks:
                entry.write(chunk)
        count += 1
        step()
    return count


def _write_mboxes(
    archive: zipfile.ZipFile,
    workspace: Workspace,
    keys: WorkspaceKeys,
    store: ObjectStore,
    options: ExportOptions,
    step: Callable[[], None],
) -> None:
    """One mbox per mailbox (a second pass: a ZIP writes one entry at a time)."""
    rows = (
        _messages(workspace, options)
        .select_related("mailbox")
        .only(
            "id",
            "provider_key",
            "sealed_as",
            "raw_object",
            "received_at",
            "mailbox",
            "mailbox__address",
        )
        .order_by("mailbox_id", "received_at", "id")
    )
    entry = None
    current = None
    try:
        for message in rows.iterator(chunk_size=500):
            if message.mailbox_id != current:
                if entry is not None:
                    entry.close()
                current = message.mailbox_id
                info = zipfile.ZipInfo(
                    mbox_path(message.mailbox.address), _zip_time(timezone.now())
                )
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                entry = archive.open(info, "w", force_zip64=True)
            stamp = message.received_at.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
            entry.write(f"From MAILER-DAEMON {stamp}\n".encode("ascii"))
            chunks = open_sealed(
                message.raw_object,
                keys,
                field="message.raw",
                row=stored_message_row(message),
                store=store,
            )
            last = b""
            for piece in mboxrd_quote(chunks):
                entry.write(piece)
                last = piece[-1:] or last
            entry.write(b"\n" if last == b"\n" else b"\n\n")
            step()
    finally:
        if entry is not None:
            entry.close()


def mbox_path(address: str) -> str:
    return f"mbox/{_UNSAFE.sub('_', address).strip('.') or 'mailbox'}.mbox"


_FROM_LINE = re.compile(rb">*From ")


def mboxrd_quote(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """mboxrd: a line starting with ">*From " gains one ">" (readers remove it again).
    Line by line across chunk boundaries; line endings are kept as they are."""
    carry = b""
    for chunk in chunks:
        data = carry + bytes(chunk)
        lines = data.split(b"\n")
        carry = lines.pop()
        if lines:
            yield b"".join(
                (b">" + line if _FROM_LINE.match(line) else line) + b"\n" for line in lines
            )
    if carry:
        yield b">" + carry if _FROM_LINE.match(carry) else carry


def mboxrd_unquote(line: bytes) -> bytes:
    return line[1:] if line.startswith(b">") and _FROM_LINE.match(line[1:]) else line


def _write_attachments(
    archive: zipfile.ZipFile,
    workspace: Workspace,
    keys: WorkspaceKeys,
    store: ObjectStore,
    options: ExportOptions,
) -> None:
    rows = Attachment.objects.filter(workspace=workspace).select_related("message")
    if options.message_ids is not None:
        rows = rows.filter(message_id__in=options.message_ids)
    for attachment in rows.order_by("message_id", "position").iterator(chunk_size=500):
        row = stored_attachment_row(attachment)
        meta = open_json(keys, attachment.meta_sealed, field="attachment.meta", row=row)
        info = zipfile.ZipInfo(
            attachment_path(attachment.message_id, attachment.position, meta.get("filename")),
            _zip_time(attachment.message.received_at),
        )
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        chunks = open_sealed(
            attachment.object_key, keys, field="attachment.content", row=row, store=store
        )
        with archive.open(info, "w", force_zip64=attachment.size > 1 << 30) as entry:
            for chunk in chunks:
                entry.write(chunk)


def attachment_path(message_id: int, position: int, filename: str | None) -> str:
    name = re.sub(r"[^\w@.+() -]", "_", filename or "", flags=re.UNICODE).strip(" .")[:120]
    return f"attachments/{message_id}/{position}-{name or 'piece-jointe'}"


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(max(moment, _ZIP_EPOCH))
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


# --- conversations.json ------------------------------------------------------------------------


def _write_conversations(
    archive: zipfile.ZipFile, workspace: Workspace, keys: WorkspaceKeys, options: ExportOptions
) -> tuple[int, int]:
    conversations_qs = Conversation.objects.filter(
        workspace=workspace, mailbox__workspace=workspace
    )
    if options.message_ids is not None:
        conversations_qs = conversations_qs.filter(
            pk__in=Message.objects.filter(workspace=workspace, pk__in=options.message_ids).values(
                "conversation_id"
            )
        )
    conversations = notes = 0
    all_tags = {tag.id: tag for tag in workspace_tags(workspace)}
    with archive.open("conversations.json", "w") as raw_entry:
        write = raw_entry.write
        write(b"[")
        first = True
        for batch in _batches(
            conversations_qs.select_related("mailbox", "assignee").order_by("id")
        ):
            messages, batch_notes = _children(
                workspace, [c.pk for c in batch], keys, options.message_ids
            )
            tags = tags_by_conversation([c.pk for c in batch], all_tags) if all_tags else {}
            for conversation in batch:
                entry = _conversation_json(
                    keys,
                    conversation,
                    messages.get(conversation.pk, []),
                    batch_notes.get(conversation.pk, []),
                )
                entry["tags"] = [tag.name for tag in tags.get(conversation.pk, [])]
                notes += len(entry["notes"])
                text = json.dumps(entry, ensure_ascii=False, indent=2)
                write((b"\n" if first else b",\n") + text.encode("utf-8"))
                first = False
                conversations += 1
        write(b"\n]\n")
    return conversations, notes


def _batches(queryset) -> Iterator[list]:
    batch = []
    for row in queryset.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _children(
    workspace: Workspace, ids: list[int], keys: WorkspaceKeys, only: list[int] | None = None
):
    messages: dict[int, list[dict]] = defaultdict(list)
    rows = Message.objects.filter(workspace=workspace, conversation_id__in=ids)
    if only is not None:
        rows = rows.filter(pk__in=only)
    rows = (
        rows.select_related("mailbox", "folder")
        .only(
            "id",
            "conversation",
            "provider_key",
            "direction",
            "envelope_sealed",
            "received_at",
            "sent_at",
            "is_seen",
            "is_flagged",
            "expunged_at",
            "mailbox",
            "mailbox__address",
            "folder",
            "folder__role",
        )
        .order_by("received_at", "id")
    )
    for message in rows:
        messages[message.conversation_id].append(_message_json(keys, message))
    notes: dict[int, list[dict]] = defaultdict(list)
    for note in (
        Note.objects.filter(workspace=workspace, conversation_id__in=ids)
        .select_related("author")
        .order_by("created_at", "id")
    ):
        notes[note.conversation_id].append(
            {
                "id": note.pk,
                "author": note.author.email if note.author else None,
                "author_name": note.author.display_name if note.author else None,
                "created_at": _iso(note.created_at),
                "body": keys.open_text(note.body_sealed, field="note.body", row=note_row(note.pk)),
            }
        )
    return messages, notes


def _message_json(keys: WorkspaceKeys, message: Message) -> dict:
    envelope = open_json(
        keys,
        message.envelope_sealed,
        field="message.envelope",
        row=stored_message_row(message),
    )
    return {
        "id": message.pk,
        "eml": eml_path(
            address=message.mailbox.address,
            role=message.folder.role if message.folder else None,
            received_at=message.received_at,
            message_id=message.pk,
        ),
        "direction": message.direction,
        "received_at": _iso(message.received_at),
        "sent_at": _iso(message.sent_at),
        "subject": envelope.get("subject") or "",
        "from": envelope.get("from") or None,
        "to": envelope.get("to") or [],
        "cc": envelope.get("cc") or [],
        "message_id": envelope.get("message_id") or "",
        "seen": message.is_seen,
        "flagged": message.is_flagged,
        "deleted_on_server_at": _iso(message.expunged_at),
    }


def _conversation_json(
    keys: WorkspaceKeys, conversation: Conversation, messages: list[dict], notes: list[dict]
) -> dict:
    summary = conversation_summary(keys, conversation) if conversation.summary_sealed else {}
    return {
        "id": conversation.pk,
        "mailbox": conversation.mailbox.address,
        "status": conversation.status,
        "assignee": conversation.assignee.email if conversation.assignee else None,
        "subject": summary.get("subject") or "",
        "contact": {"name": summary.get("name") or "", "address": summary.get("address") or ""},
        "created_at": _iso(conversation.created_at),
        "last_message_at": _iso(conversation.last_message_at),
        "snoozed_until": _iso(conversation.snoozed_until),
        "messages": messages,
        "notes": notes,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


# --- the rest ----------------------------------------------------------------------------------


def _write_text(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_zip_time(timezone.now()))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, text.encode("utf-8"))


def _readme(workspace: Workspace, messages: int, conversations: int, options: ExportOptions) -> str:
    when = timezone.localtime(timezone.now()).strftime("%d/%m/%Y à %H:%M")
    sections = []
    if options.message_ids is not None:
        sections.append(
            "Cet export est limité aux messages d’une personne (demande d’accès RGPD) et aux\n"
            "conversations qui les contiennent.\n"
        )
    if options.mbox:
        sections.append(
            "mbox/<adresse>.mbox\n"
            "    Tous les messages d’une boîte partagée dans un seul fichier au format mbox\n"
            "    (variante mboxrd), que Thunderbird et la plupart des logiciels importent.\n"
        )
    if options.attachments:
        sections.append(
            "attachments/<numéro du message>/<position>-<nom du fichier>\n"
            "    Les pièces jointes, décodées (elles figurent aussi dans les fichiers .eml).\n"
        )
    for extra in options.extra:
        sections.append(f"{extra.name}\n    {extra.description}\n")
    more = ("\n" + "\n".join(sections)) if sections else ""
    return f"""\
Export Trupeo de l’espace « {workspace.name} »
Créé le {when} : {messages} messages, {conversations} conversations.

Ce fichier contient, déchiffrées, toutes les données de messagerie de votre espace. Gardez-le
en lieu sûr : contrairement aux données stockées chez Trupeo, il n’est pas chiffré.

Contenu
-------
mailboxes/<adresse>/<dossier>/<date de réception>-<numéro>.eml
    Un fichier par message, octet pour octet tel que votre serveur de messagerie nous l’a
    remis (en-têtes, corps et pièces jointes compris). Le dossier est « inbox » pour la
    boîte de réception, « sent » pour les messages envoyés. La date est en temps universel
    (UTC), au format AAAA-MM-JJ-HHMMSS ; le numéro est celui du message dans Trupeo.
    Ces fichiers s’ouvrent avec Thunderbird, Outlook, Apple Mail ou tout logiciel de
    messagerie, et peuvent être réimportés ailleurs.

conversations.json
    La liste de vos conversations (format JSON, UTF-8). Pour chacune : son numéro, la boîte
    partagée, son statut (open : ouverte, pending : en attente, closed : fermée,
    spam : indésirable), la personne assignée, le sujet, le contact, les messages (avec le
    chemin de leur fichier .eml dans cette archive) et les notes internes de l’équipe
    (auteur, date, texte). Les dates sont au format ISO 8601, en UTC.

tags.json
    Les étiquettes de l’espace (nom et couleur) ; chaque conversation de
    conversations.json liste les siennes (liste vide tant qu’aucune étiquette n’existe).
{more}
Pour toute question sur vos données : voir la politique de confidentialité de Trupeo.
"""
