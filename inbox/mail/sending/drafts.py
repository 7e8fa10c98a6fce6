"""Drafts and the queue: an outgoing's content, sealed under row "outgoing:<pk>", until the
MIME is composed once and sealed to storage and the outgoing handed to a worker."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.mail import compose
from inbox.mail.sealing import open_json, outgoing_row, seal_json
from inbox.mail.threads import message_id_token
from inbox.models import (
    Conversation,
    Mailbox,
    Message,
    Outgoing,
    OutgoingKind,
    SendState,
)
from inbox.tasks import send_outgoing
from trupeo.crypto import WorkspaceKeys
from trupeo.queueing import enqueue_at_on_commit, enqueue_on_commit
from trupeo.storage import object_store, put_sealed, read_sealed

logger = logging.getLogger("inbox.mail.sending")


class OutgoingStateError(Exception):
    """The outgoing is not in a state that allows this (a sentence, `str(error)`)."""


def read_only_message() -> str:
    return _(
        "This workspace is read-only until its subscription is renewed: the message was not "
        "sent and is kept."
    )


def too_many_recipients_message(*, count: int, limit: int) -> str:
    return _(
        "This message has %(count)s recipients; this workspace allows at most %(limit)s per "
        "message (To, Cc and Bcc together). Send it in smaller groups, or ask the workspace's "
        "owner to change the limit."
    ) % {
        "count": number_format(count, force_grouping=True),  # "1,501" / "1 501"
        "limit": number_format(limit, force_grouping=True),
    }


def recipients_over_limit(outgoing: Outgoing, keys: WorkspaceKeys | None = None) -> str | None:
    """The sentence refusing a draft with more recipients than its workspace allows, or None."""
    content = outgoing_content(outgoing, keys)
    count = sum(len(content.get(field) or []) for field in ("to", "cc", "bcc"))
    limit = outgoing.workspace.max_recipients
    return too_many_recipients_message(count=count, limit=limit) if count > limit else None


# --- drafts ----------------------------------------------------------------------------------


def outgoing_content(outgoing: Outgoing, keys: WorkspaceKeys | None = None) -> dict:
    """The sealed content: to, cc, bcc, subject, body, signature, kind, reply_to_message_id,
    and once queued message_id, in_reply_to, references."""
    if not outgoing.content_sealed:
        return {}
    return open_json(
        keys or keys_for(outgoing.workspace),
        outgoing.content_sealed,
        field="outgoing.content",
        row=outgoing_row(outgoing.pk),
    )


def reply_defaults(*, mailbox: Mailbox, message: Message, kind: str) -> dict:
    """What a composer pre-fills for a reply, reply-all or forward of `message`."""
    _check_message(mailbox, message)
    original = compose.original_of(keys_for(mailbox.workspace), message)
    if kind == OutgoingKind.FORWARD:
        return {"to": [], "cc": [], "subject": compose.forward_subject(original.subject)}
    to, cc = compose.reply_recipients(
        original, mailbox_address=mailbox.address, reply_all=kind == OutgoingKind.REPLY_ALL
    )
    return {"to": to, "cc": cc, "subject": compose.reply_subject(original.subject)}


def outgoing_create(
    *,
    mailbox: Mailbox,
    conversation: Conversation | None,
    author: User | None,
    kind: str,
    to=None,
    cc=None,
    bcc=None,
    subject: str | None = None,
    body: str = "",
    reply_to_message: Message | None = None,
    signature: str = "",
) -> Outgoing:
    """A draft, its content sealed under row "outgoing:<pk>".

    For a reply or reply-all, recipients and subject left as None come from the answered
    message; `[]` / `""` mean "none". Raises ValidationError (in words) for bad addresses or a
    message without recipients, ValueError for objects that do not belong together.
    """
    if kind not in OutgoingKind.values:
        raise ValueError(f"unknown outgoing kind {kind!r}")
    if kind != OutgoingKind.NEW and reply_to_message is None:
        raise ValueError(f"a {kind} needs the message it answers")
    if reply_to_message is not None:
        _check_message(mailbox, reply_to_message)
        if conversation is None:
            conversation = reply_to_message.conversation
        elif reply_to_message.conversation_id != conversation.pk:
            raise ValueError("the answered message is not in this conversation")
    if conversation is not None and (
        conversation.workspace_id != mailbox.workspace_id or conversation.mailbox_id != mailbox.pk
    ):
        raise ValueError("the conversation does not belong to this mailbox")
    if (
        author is not None
        and not Membership.objects.filter(workspace_id=mailbox.workspace_id, user=author).exists()
    ):
        raise ValueError("the author is not a member of this workspace")

    if reply_to_message is not None and (to is None or subject is None or cc is None):
        defaults = reply_defaults(mailbox=mailbox, message=reply_to_message, kind=kind)
        to = defaults["to"] if to is None else to
        cc = defaults["cc"] if cc is None else cc
        subject = defaults["subject"] if subject is None else subject
    content = _content_fields(to=to, cc=cc, bcc=bcc, subject=subject, body=body)
    content.update(
        kind=kind,
        signature=signature or "",
        reply_to_message_id=reply_to_message.pk if reply_to_message else None,
    )
    with transaction.atomic():
        outgoing = Outgoing.objects.create(
            # The object, not its id: sealing the content below reads it (no second query).
            workspace=mailbox.workspace,
            mailbox=mailbox,
            conversation=conversation,
            author=author,
            kind=kind,
            state=SendState.DRAFT,
        )
        _seal_content(outgoing, content)
        outgoing.save(update_fields=["content_sealed"])
    return outgoing


def outgoing_update(
    *,
    outgoing: Outgoing,
    to=None,
    cc=None,
    bcc=None,
    subject: str | None = None,
    body: str | None = None,
    signature: str | None = None,
    note: str | None = None,
    html: str | None = None,
    quote: str | None = None,
) -> Outgoing:
    """Change a draft (None leaves a value as it is). `note`: a forward's internal note."""
    with transaction.atomic():
        locked = Outgoing.objects.select_for_update().get(pk=outgoing.pk)
        if locked.state != SendState.DRAFT:
            raise OutgoingStateError(_("This message has already been sent or queued."))
        if Outgoing.workspace.is_cached(outgoing):
            locked.workspace = outgoing.workspace  # the same row, already read: not again
        content = outgoing_content(locked)
        changes = _content_fields(
            to=content["to"] if to is None else to,
            cc=content["cc"] if cc is None else cc,
            bcc=content["bcc"] if bcc is None else bcc,
            subject=content["subject"] if subject is None else subject,
            body=content["body"] if body is None else body,
        )
        content.update(changes)
        if signature is not None:
            content["signature"] = signature
        if note is not None:
            content["note"] = note
        if (
            html is not None
        ):  # sanitised by the caller (inbox.mail.rich_text); "" back to plain text
            content["html"] = html
        if quote is not None:  # the quoted original, as the person edited it
            content["quote"] = quote
        _seal_content(locked, content)
        locked.save(update_fields=["content_sealed", "updated_at"])
    outgoing.content_sealed = locked.content_sealed
    return outgoing


def _content_fields(*, to, cc, bcc, subject, body) -> dict:
    to_list = compose.normalise_recipients(to)
    cc_list = compose.dedupe(
        compose.normalise_recipients(cc), exclude=[a["address"] for a in to_list]
    )
    bcc_list = compose.dedupe(
        compose.normalise_recipients(bcc),
        exclude=[a["address"] for a in (*to_list, *cc_list)],
    )
    return {
        "to": to_list,
        "cc": cc_list,
        "bcc": bcc_list,
        "subject": " ".join((subject or "").split()),
        "body": body or "",
    }


def _seal_content(outgoing: Outgoing, content: dict) -> None:
    outgoing.content_sealed = seal_json(
        keys_for(outgoing.workspace),
        content,
        field="outgoing.content",
        row=outgoing_row(outgoing.pk),
    )


def _check_message(mailbox: Mailbox, message: Message) -> None:
    if message.mailbox_id != mailbox.pk or message.workspace_id != mailbox.workspace_id:
        raise ValueError("the answered message does not belong to this mailbox")


# --- queue -----------------------------------------------------------------------------------


def outgoing_queue(*, outgoing: Outgoing, not_before: datetime | None = None) -> Outgoing:
    """Compose the MIME once, seal it to storage, and hand the outgoing to a worker.

    `not_before` holds it (the undo window, or a send scheduled for later): no worker may claim
    it before then, and until one does `outgoing_unqueue` brings the draft back intact, its
    files included (they are deleted only once a worker claims it)."""
    held = not_before is not None and not_before > timezone.now()
    with transaction.atomic():
        locked = (
            Outgoing.objects.select_for_update(of=("self",))
            .select_related("mailbox__workspace", "author")
            .get(pk=outgoing.pk)
        )
        if locked.state != SendState.DRAFT:
            raise OutgoingStateError(_("This message has already been sent or queued."))
        mailbox = locked.mailbox
        if mailbox.workspace.is_read_only:
            raise OutgoingStateError(read_only_message())  # the draft stays as it is
        keys = keys_for(mailbox.workspace)
        content = _sendable_content(locked, keys)
        message_id = compose.new_message_id(mailbox.address)
        mime = _composed(locked, keys, content, message_id=message_id)
        raw = compose.as_bytes(mime)
        row = outgoing_row(locked.pk)
        locked.raw_object = put_sealed(keys, [raw], field="outgoing.raw", row=row)
        content.update(
            message_id=message_id,
            in_reply_to=mime.get("In-Reply-To", ""),
            references=(mime.get("References") or "").split(),
        )
        _seal_content(locked, content)
        locked.message_id_token = message_id_token(keys, message_id)
        locked.state = SendState.QUEUED
        locked.lease_until = not_before if held else None
        locked.first_attempt_at = None
        locked.last_error = ""
        locked.attempts = 0
        locked.save()
        pk = locked.pk
        if held:  # the beat sweep sends it if this broker message is lost
            enqueue_at_on_commit(send_outgoing, pk, eta=not_before)
            _refresh(outgoing, locked)
            return outgoing
        enqueue_on_commit(send_outgoing, pk)  # a broker outage: the sweep queues it later
        # The files are inside the sealed MIME now: their separate copies can go.
        added = [a["key"] for a in content.get("attachments") or []]
        transaction.on_commit(lambda: _delete_objects(added))
    _refresh(outgoing, locked)
    return outgoing


def _sendable_content(outgoing: Outgoing, keys) -> dict:
    """The draft's content, or ValidationError when it may not leave as it is."""
    content = outgoing_content(outgoing, keys)
    if not (content["to"] or content["cc"] or content["bcc"]):
        raise ValidationError(_("Add at least one recipient."), code="no_recipient")
    count = len(content["to"]) + len(content["cc"]) + len(content["bcc"])
    limit = outgoing.mailbox.workspace.max_recipients
    if count > limit:  # checked here, whatever the caller
        raise ValidationError(
            too_many_recipients_message(count=count, limit=limit), code="too_many_recipients"
        )
    return content


def _composed(outgoing: Outgoing, keys, content: dict, *, message_id: str):
    """The MIME message, composed once, in its author's language."""
    mailbox = outgoing.mailbox
    original = None
    if content.get("reply_to_message_id"):
        message = Message.objects.filter(pk=content["reply_to_message_id"], mailbox=mailbox).first()
        if message is not None:  # deleted since: sent without the quote and references
            original = compose.original_of(
                keys, message, with_attachments=outgoing.kind == OutgoingKind.FORWARD
            )
            if content.get("quote") is not None and outgoing.kind != OutgoingKind.FORWARD:
                original = dataclasses.replace(original, text=content["quote"])
    with translation.override(author_language(outgoing.author)):
        return compose.compose_message(
            mailbox=mailbox,
            kind=outgoing.kind,
            to=content["to"],
            cc=content["cc"],
            subject=content["subject"],
            body=content["body"],
            signature=content.get("signature") or "",
            original=original,
            message_id=message_id,
            date=timezone.now(),
            attachments=_files(keys, content),
            html_body=content.get("html") or "",
        )


def _refresh(target: Outgoing, source: Outgoing) -> None:
    for name in (
        "state",
        "content_sealed",
        "message_id_token",
        "raw_object",
        "attempts",
        "last_error",
        "lease_until",
        "updated_at",
    ):
        setattr(target, name, getattr(source, name))


def author_language(author: User | None) -> str:
    return (author.language if author is not None else "") or settings.LANGUAGE_CODE


# --- files added in the composer ---------------------------------------------------------------

# What the files of one message may total. Providers refuse messages over 25 MB once encoded,
# and base64 makes files a third bigger.
MAX_ATTACHMENTS_BYTES = 18 * 1024 * 1024
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def attachment_too_large_message() -> str:
    return _(
        "The files of one message may total %(limit)s MB at most (mail servers refuse bigger "
        "messages). Send large files through a sharing link instead."
    ) % {"limit": MAX_ATTACHMENTS_BYTES // (1024 * 1024)}


def outgoing_attachments(outgoing: Outgoing, keys: WorkspaceKeys | None = None) -> list[dict]:
    """The files added to a draft: [{"token", "filename", "content_type", "size"}, …]."""
    return [
        {k: a[k] for k in ("token", "filename", "content_type", "size")}
        for a in outgoing_content(outgoing, keys).get("attachments") or []
        if not a.get("inline")  # the editor's images are shown in the text
    ]


def outgoing_attach(
    *,
    outgoing: Outgoing,
    filename: str,
    content_type: str,
    size: int,
    chunks: Iterable[bytes],
    inline_token: str = "",
) -> dict:
    """Add a file to a draft, sealed to object storage under row "outgoing:<pk>:file:<token>".

    Raises ValidationError (in words) when the files would exceed MAX_ATTACHMENTS_BYTES,
    OutgoingStateError when the message has left the draft state; nothing is kept then.
    """
    keys = keys_for(outgoing.workspace)
    if sum(a["size"] for a in outgoing_attachments(outgoing, keys)) + size > MAX_ATTACHMENTS_BYTES:
        raise ValidationError(attachment_too_large_message(), code="too_large")
    # An image of the rich text is named by its content (its cid), so a second save adds nothing.
    token = inline_token or secrets.token_hex(8)
    row = f"{outgoing_row(outgoing.pk)}:file:{token}"
    key = put_sealed(keys, chunks, field="outgoing.attachment", row=row)
    entry = {
        "token": token,
        "key": key,
        "row": row,
        "filename": _safe_filename(filename),
        "content_type": _safe_content_type(content_type),
        "size": size,
        "inline": bool(inline_token),
    }
    try:
        with transaction.atomic():
            locked = Outgoing.objects.select_for_update().get(pk=outgoing.pk)
            if locked.state != SendState.DRAFT:
                raise OutgoingStateError(_("This message has already been sent or queued."))
            content = outgoing_content(locked, keys)
            files = content.get("attachments") or []
            if inline_token and any(a["token"] == token for a in files):
                raise _AlreadyThere()
            if sum(a["size"] for a in files) + size > MAX_ATTACHMENTS_BYTES:  # a parallel upload
                raise ValidationError(attachment_too_large_message(), code="too_large")
            content["attachments"] = [*files, entry]
            _seal_content(locked, content)
            locked.save(update_fields=["content_sealed", "updated_at"])
    except _AlreadyThere:
        _delete_objects([key])
        return {k: entry[k] for k in ("token", "filename", "content_type", "size")}
    except BaseException:
        _delete_objects([key])
        raise
    outgoing.content_sealed = locked.content_sealed
    return {k: entry[k] for k in ("token", "filename", "content_type", "size")}


class _AlreadyThere(Exception):
    """The same inline image is already in the draft."""


def outgoing_detach(*, outgoing: Outgoing, token: str) -> None:
    """Remove a file from a draft (unknown tokens change nothing)."""
    with transaction.atomic():
        locked = Outgoing.objects.select_for_update().get(pk=outgoing.pk)
        if locked.state != SendState.DRAFT:
            raise OutgoingStateError(_("This message has already been sent or queued."))
        if Outgoing.workspace.is_cached(outgoing):
            locked.workspace = outgoing.workspace  # the same row, already read: not again
        content = outgoing_content(locked)
        files = content.get("attachments") or []
        gone = [a["key"] for a in files if a["token"] == token]
        content["attachments"] = [a for a in files if a["token"] != token]
        _seal_content(locked, content)
        locked.save(update_fields=["content_sealed", "updated_at"])
        transaction.on_commit(lambda: _delete_objects(gone))
    outgoing.content_sealed = locked.content_sealed


def outgoing_discard(*, outgoing: Outgoing) -> None:
    """Delete a draft and its files."""
    with transaction.atomic():
        locked = Outgoing.objects.select_for_update().get(pk=outgoing.pk)
        if locked.state != SendState.DRAFT:
            raise OutgoingStateError(_("This message has already been sent or queued."))
        gone = [a["key"] for a in outgoing_content(locked).get("attachments") or []]
        locked.delete()
        transaction.on_commit(lambda: _delete_objects(gone))


def _files(keys: WorkspaceKeys, content: dict) -> list[compose.OriginalAttachment]:
    return [
        compose.OriginalAttachment(
            filename=a["filename"],
            content_type=a["content_type"],
            is_inline=bool(a.get("inline")),
            size=a["size"],
            read=functools.partial(
                read_sealed, a["key"], keys, field="outgoing.attachment", row=a["row"]
            ),
            content_id=a["token"] if a.get("inline") else "",
        )
        for a in content.get("attachments") or []
    ]


def _safe_filename(name: str) -> str:
    # Browsers send a bare name, but some older ones send a whole path.
    name = re.split(r"[/\\]", name or "")[-1]
    name = _UNSAFE_NAME.sub(" ", name).strip()[:200]
    return name or "attachment"


def _safe_content_type(value: str) -> str:
    value = (value or "").split(";")[0].strip().lower()
    return value if _CONTENT_TYPE.match(value) else "application/octet-stream"


def outgoing_drop_file_copies(outgoing: Outgoing, content: dict) -> None:
    """Once a worker has claimed a held message, its files live only in the sealed MIME."""
    _delete_objects([a["key"] for a in content.get("attachments") or []])


def _delete_objects(keys: list[str]) -> None:
    store = object_store()
    for key in keys:
        try:
            store.delete(key)
        except Exception as error:  # ciphertext left behind; the workspace's deletion clears it
            logger.warning("outgoing file not deleted (%s)", type(error).__name__)
