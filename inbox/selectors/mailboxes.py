"""The workspace's mailboxes as the inbox pages list them."""

from dataclasses import dataclass

from accounts import workspace_lists
from accounts.models import Workspace
from inbox.models import Mailbox


@dataclass(frozen=True)
class MailboxEntry:
    pk: int
    address: str
    label: str


def mailboxes_listed(workspace: Workspace) -> list[MailboxEntry]:
    """Every mailbox of the workspace, by address, as the inbox pages list them, kept in each
    process until the workspace's directory version moves (`accounts.workspace_lists`)."""

    def load() -> list[MailboxEntry]:
        rows = Mailbox.objects.filter(workspace=workspace).order_by("address")
        return [MailboxEntry(m.pk, m.address, m.label) for m in rows.only("address", "name")]

    return workspace_lists.kept(workspace, "mailboxes", load)
