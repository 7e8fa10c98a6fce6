"""Connecting mailboxes (IMAP), changing their servers, pausing and deleting them.

A mailbox's creation with its folders and its sealed credentials are in inbox.mail.mailboxes."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.inbox_version import workspace_touched
from inbox.mail.connection import ConnectionReport
from inbox.mail.mailboxes import DEFAULT_FOLDERS, folder_rename, mailbox_create
from inbox.mail.sealing import mailbox_row, seal_json
from inbox.models import (
    Attachment,
    Conversation,
    FolderRole,
    Mailbox,
    Message,
    Outgoing,
    Provider,
    SyncState,
)
from trupeo.storage import object_store

logger = logging.getLogger(__name__)


def _failure_fields(report: ConnectionReport | None, now: datetime) -> dict:
    """Health columns after a connection test that failed, so the panel says why."""
    if report is None or report.ok:
        return {}
    return {
        "sync_state": SyncState.ERROR,
        "last_attempt_at": now,
        "last_error": report.error,
        "last_error_at": now,
        "consecutive_failures": 1,
    }


@sensitive_variables("credentials")
@transaction.atomic
def mailbox_connect_imap(
    *,
    workspace: Workspace,
    address: str,
    name: str,
    credentials: dict,
    server_fields: dict,
    report: ConnectionReport | None,
) -> Mailbox:
    """A new IMAP mailbox; its health starts from the connection test, if one was run."""
    now = timezone.now()
    health = _failure_fields(report, now)
    mailbox = mailbox_create(
        workspace=workspace,
        address=address,
        name=name,
        provider=Provider.IMAP,
        credentials=credentials,
        sync_state=health.pop("sync_state", SyncState.ACTIVE),
        **server_fields,
        **health,
    )
    sent = report.sent_folder if report is not None else ""
    if sent and sent != DEFAULT_FOLDERS[FolderRole.SENT]:
        folder = mailbox.folders.get(role=FolderRole.SENT)
        folder_rename(folder=folder, name=sent, workspace=workspace)
    return mailbox


@sensitive_variables("credentials")
@transaction.atomic
def mailbox_update_servers(
    *,
    mailbox: Mailbox,
    name: str,
    credentials: dict,
    server_fields: dict,
    report: ConnectionReport | None,
) -> None:
    """New server settings and passwords; a mailbox that was failing is retried from zero."""
    for field, value in server_fields.items():
        setattr(mailbox, field, value)
    mailbox.name = name
    mailbox.credentials_sealed = seal_json(
        keys_for(mailbox.workspace),
        credentials,
        field="mailbox.credentials",
        row=mailbox_row(mailbox.pk),
    )
    update = ["name", "credentials_sealed", *server_fields]
    failure = _failure_fields(report, timezone.now())
    if failure and mailbox.sync_state != SyncState.PAUSED:
        for field, value in failure.items():
            setattr(mailbox, field, value)
        update += list(failure)
    elif not failure and mailbox.sync_state in (SyncState.ERROR, SyncState.RECONNECT):
        mailbox.sync_state = SyncState.ACTIVE
        mailbox.consecutive_failures = 0
        update += ["sync_state", "consecutive_failures"]
    mailbox.save(update_fields=update)


def mailbox_set_paused(*, mailbox: Mailbox, paused: bool) -> None:
    """Pause (sync stops, nothing is deleted) or resume (the next pass picks it up)."""
    state = SyncState.PAUSED if paused else SyncState.ACTIVE
    if mailbox.sync_state == state:
        return
    mailbox.sync_state = state
    fields = ["sync_state"]
    if not paused:
        mailbox.consecutive_failures = 0
        fields.append("consecutive_failures")
    mailbox.save(update_fields=fields)


def _delete_objects(keys: list[str]) -> None:
    store = object_store()
    failed = 0
    for key in keys:
        try:
            store.delete(key)
        except Exception:
            failed += 1
    if failed:
        # Keys are opaque; never any content or address in the log.
        logger.error(
            "mailbox deletion: %d of %d stored objects could not be deleted", failed, len(keys)
        )


@transaction.atomic
def mailbox_destroy(*, mailbox: Mailbox) -> int:
    """Delete the mailbox and everything synced from it (the server's mail is untouched).

    Stored objects (raw messages, attachments) are deleted once the rows are gone for good.
    Returns the number of conversations deleted.
    """
    messages_qs = Message.objects.filter(mailbox=mailbox)
    keys = [k for k in messages_qs.values_list("raw_object", flat=True) if k]
    keys += [
        k
        for k in Attachment.objects.filter(message__mailbox=mailbox).values_list(
            "object_key", flat=True
        )
        if k
    ]
    keys += [
        k
        for k in Outgoing.objects.filter(mailbox=mailbox).values_list("raw_object", flat=True)
        if k
    ]
    conversations = Conversation.objects.filter(mailbox=mailbox).count()
    mailbox.delete()
    workspace_touched(mailbox.workspace_id)
    if keys:
        transaction.on_commit(lambda: _delete_objects(keys))
    return conversations
