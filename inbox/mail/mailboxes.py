"""A mailbox as the pipeline keeps it: created with its INBOX and Sent folders, its
credentials and folder names sealed (the admin's writes are in inbox.actions.mailboxes)."""

from django.db import transaction

from accounts.keys import keys_for
from accounts.models import Workspace
from inbox.mail.sealing import folder_row, mailbox_row, open_json, seal_json
from inbox.models import FolderRole, Mailbox, MailboxFolder, Provider, SyncState

DEFAULT_FOLDERS = {FolderRole.INBOX: "INBOX", FolderRole.SENT: "Sent"}


@transaction.atomic
def mailbox_create(
    *,
    workspace: Workspace,
    address: str,
    name: str = "",
    provider: str = Provider.IMAP,
    credentials: dict | None = None,
    sync_state: str = SyncState.ACTIVE,
    **server: object,
) -> Mailbox:
    """A mailbox with its INBOX and Sent folders; credentials sealed before they are saved."""
    mailbox = Mailbox.objects.create(
        workspace=workspace,
        address=address.strip().lower(),
        name=name,
        provider=provider,
        sync_state=sync_state,
        **server,
    )
    keys = keys_for(workspace)
    if credentials is not None:
        mailbox.credentials_sealed = seal_json(
            keys, credentials, field="mailbox.credentials", row=mailbox_row(mailbox.pk)
        )
        mailbox.save(update_fields=["credentials_sealed"])
    for role, folder_name in DEFAULT_FOLDERS.items():
        folder = MailboxFolder.objects.create(mailbox=mailbox, role=role, name_sealed=b"")
        folder_rename(folder=folder, name=folder_name, workspace=workspace)
    return mailbox


def folder_rename(*, folder: MailboxFolder, name: str, workspace: Workspace) -> None:
    folder.name_sealed = keys_for(workspace).seal_text(
        name, field="folder.name", row=folder_row(folder.pk)
    )
    folder.save(update_fields=["name_sealed"])


def folder_name(folder: MailboxFolder, workspace: Workspace) -> str:
    return (
        keys_for(workspace).open_text(
            folder.name_sealed, field="folder.name", row=folder_row(folder.pk)
        )
        or ""
    )


def mailbox_credentials(mailbox: Mailbox) -> dict:
    if not mailbox.credentials_sealed:
        return {}
    return open_json(
        keys_for(mailbox.workspace),
        mailbox.credentials_sealed,
        field="mailbox.credentials",
        row=mailbox_row(mailbox.pk),
    )
