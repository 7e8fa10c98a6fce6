"""The contacts' share of the retention policy ("requesters who were never clients"),
registered in `trupeo.retention` by `ContactsConfig.ready()`: privacy never imports contacts."""

from datetime import datetime

from accounts.models import Workspace
from contacts.actions import contacts_never_clients, contacts_never_clients_purge
from trupeo.retention import CONTACTS, Purger, purger_register


def never_clients_count(workspace_id: int, before: datetime) -> int:
    # A plain COUNT (the preview screen): nothing loaded, nothing decrypted.
    return contacts_never_clients(workspace_id=workspace_id, older_than=before).count()


def never_clients_purge(workspace_id: int, before: datetime, limit: int) -> int:
    workspace = Workspace(pk=workspace_id)
    return contacts_never_clients_purge(workspace=workspace, older_than=before, limit=limit)


def purgers_register() -> None:
    purger_register(
        CONTACTS,
        Purger(name="contacts.never_clients", count=never_clients_count, purge=never_clients_purge),
    )
