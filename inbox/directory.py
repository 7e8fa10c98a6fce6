"""The workspace's tags and mailboxes as the inbox pages list them, kept in each process
until the workspace's directory version moves (see `accounts.directory`)."""

from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.directory import bump, cached
from accounts.models import Workspace
from inbox.models import Mailbox, Tag
from inbox.tags import TagView, workspace_tags


@dataclass(frozen=True)
class MailboxEntry:
    pk: int
    address: str
    label: str


def tags(workspace: Workspace) -> list[TagView]:
    """Every tag of the workspace, decrypted, by name."""
    return cached(workspace, "tags", lambda: workspace_tags(workspace))


def mailboxes(workspace: Workspace) -> list[MailboxEntry]:
    """Every mailbox of the workspace, by address."""

    def load() -> list[MailboxEntry]:
        rows = Mailbox.objects.filter(workspace=workspace).order_by("address")
        return [MailboxEntry(m.pk, m.address, m.label) for m in rows.only("address", "name")]

    return cached(workspace, "mailboxes", load)


# Saves that change what the lists show; a sync's health updates change none of it.
_MAILBOX_FIELDS_SHOWN = {"address", "name"}


@receiver(post_save, sender=Mailbox, dispatch_uid="directory_mailbox_saved")
def _mailbox_saved(sender, instance: Mailbox, created: bool, update_fields=None, **kwargs) -> None:
    if created or update_fields is None or _MAILBOX_FIELDS_SHOWN & set(update_fields):
        bump([instance.workspace_id])


@receiver(post_save, sender=Tag, dispatch_uid="directory_tag_saved")
@receiver(post_delete, sender=Tag, dispatch_uid="directory_tag_deleted")
@receiver(post_delete, sender=Mailbox, dispatch_uid="directory_mailbox_deleted")
def _changed(sender, instance: Tag | Mailbox, **kwargs) -> None:
    bump([instance.workspace_id])
