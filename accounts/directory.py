"""What every inbox page lists about its workspace (members here; tags and mailboxes in
`inbox.directory`), kept in each process between requests.

A page used to read these lists from the database each time: three queries and their model
instances on every list and conversation page. Each process now keeps them per workspace and
reads them again only when `Workspace.directory_version` moved — the workspace row comes
with the request's membership anyway, so checking costs nothing. Every change to a member, a
tag or a mailbox's name bumps the version in the database, in the same transaction, so all
processes see it on their next request.
"""

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from threading import Lock
from typing import Any

from django.db import transaction
from django.db.models import F, PositiveBigIntegerField, Value
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership, User, Workspace

# Workspaces kept per process (each entry is a few lists of tens of items).
MAX_WORKSPACES = 1000

_entries: OrderedDict[tuple[int, str], tuple[int, Any]] = OrderedDict()
_lock = Lock()


def cached[T](workspace: Workspace, name: str, load: Callable[[], T]) -> T:
    """`load()`'s answer for this workspace, kept until its directory version moves.

    The version is the one read with the request's workspace, before `load()` runs: a change
    committed in between bumps it again, so an older answer is never kept under a newer number.
    """
    key = (workspace.pk, name)
    with _lock:
        entry = _entries.get(key)
        if entry is not None and entry[0] == workspace.directory_version:
            _entries.move_to_end(key)
            return entry[1]
    value = load()
    with _lock:
        _entries[key] = (workspace.directory_version, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_WORKSPACES * 4:
            _entries.popitem(last=False)
    return value


def bump(workspace_ids: Iterable[int]) -> None:
    """Every process reads this workspace's lists again on its next request; this one as
    soon as the change commits, since the request that made it may show the lists afterwards
    (its workspace still carries the version it started with). Not before the commit: another
    thread would keep the old lists again, and a rollback would leave uncommitted ones."""
    ids = {int(i) for i in workspace_ids if i}
    if not ids:
        return
    Workspace.objects.filter(pk__in=ids).update(directory_version=F("directory_version") + 1)
    transaction.on_commit(partial(_forget, ids))


def bump_all_past(version: int) -> None:
    """After a restore: every workspace's version jumps past any number a running process
    may have kept (the restored rows carry older ones, which could be reused)."""
    # A bigint: a bare int would be sent as a 32-bit integer (Django's default for a Value).
    jump = Value(version, output_field=PositiveBigIntegerField())
    Workspace.objects.update(directory_version=F("directory_version") + jump)
    transaction.on_commit(forget)


def _forget(workspace_ids: set[int]) -> None:
    with _lock:
        for key in [key for key in _entries if key[0] in workspace_ids]:
            del _entries[key]


def forget() -> None:
    """Drop what this process keeps (tests that rewrite the database under it)."""
    with _lock:
        _entries.clear()


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    is_away: bool


def members(workspace: Workspace) -> list[Member]:
    """The workspace's members by name, as the assign menus list them."""

    def load() -> list[Member]:
        rows = (
            Membership.objects.filter(workspace=workspace)
            .select_related("user")
            .order_by("user__name", "user__email")
        )
        return [Member(m.user_id, m.user.display_name, m.is_away) for m in rows]

    return cached(workspace, "members", load)


# A user's name or address shows in every workspace they belong to; their login or language
# shows nowhere in these lists.
_USER_FIELDS_SHOWN = {"name", "email"}


@receiver(post_save, sender=User, dispatch_uid="directory_user_saved")
def _user_saved(sender, instance: User, created: bool, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and not _USER_FIELDS_SHOWN & set(update_fields)):
        return
    bump(Membership.objects.filter(user=instance).values_list("workspace_id", flat=True))


@receiver(post_save, sender=Membership, dispatch_uid="directory_membership_saved")
@receiver(post_delete, sender=Membership, dispatch_uid="directory_membership_deleted")
def _membership_changed(sender, instance: Membership, **kwargs) -> None:
    bump([instance.workspace_id])
