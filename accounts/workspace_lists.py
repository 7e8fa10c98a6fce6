"""What each process keeps of a workspace's lists between requests: its members (here), its
tags and mailboxes (`inbox.selectors.tags.tags_listed`,
`inbox.selectors.mailboxes.mailboxes_listed`), and the
owners' processor-terms answer (`privacy.processor_terms`).

A page used to read these lists from the database each time: three queries and their model
instances on every list and conversation page. Each process now keeps them per workspace in
the local-memory cache `CACHES["per_process"]`, under keys that carry
`Workspace.directory_version` — the workspace row comes with the request's membership, so
checking costs no query. Every change to a member, a tag or a mailbox's name bumps the version
in the database, in the same transaction: every process's next request looks under a new key,
and the old entries are never reached again (the cache drops them when it is full).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from uuid import uuid4

from django.core.cache import caches
from django.db import models, transaction
from django.db.models import F, PositiveBigIntegerField, Value
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Membership, User, Workspace

# The alias in settings.CACHES: a LocMemCache, never shared between processes.
CACHE = "per_process"
_MISSING = object()


def _changed_here_key(workspace_id: int) -> str:
    return f"{workspace_id}:changed-here"


def _changed_here(workspace_id: int) -> str:
    """A token this process renews when one of its own changes to the workspace commits: the
    request that made it still carries the version it started with, and must show the change
    in its answer. A token never seen before when the cache dropped it, so what was kept under
    an older one is never reached again."""
    lists = caches[CACHE]
    key = _changed_here_key(workspace_id)
    token = lists.get(key)
    if token is None:
        fresh = uuid4().hex
        token = fresh if lists.add(key, fresh, timeout=None) else lists.get(key, fresh)
    return token


def kept[T](workspace: Workspace, name: str, load: Callable[[], T]) -> T:
    """`load()`'s answer for this workspace, kept until its directory version moves.

    The version is the one read with the request's workspace, before `load()` runs: a change
    committed in between bumps it again, so an older answer is never kept under a newer number.
    """
    lists = caches[CACHE]
    key = f"{workspace.pk}:{workspace.directory_version}:{_changed_here(workspace.pk)}:{name}"
    value = lists.get(key, _MISSING)
    if value is _MISSING:
        value = load()
        lists.set(key, value, timeout=None)
    return value


def renew_here(workspace_ids: set[int]) -> None:
    """This process reads these workspaces' lists again, even for a request that still
    carries the version it started with."""
    caches[CACHE].set_many({_changed_here_key(pk): uuid4().hex for pk in workspace_ids}, None)


def bump(workspace_ids: Iterable[int]) -> None:
    """Every process reads this workspace's lists again on its next request; this one as
    soon as the change commits, since the request that made it may show the lists afterwards.
    Not before the commit: another thread would keep the old lists again, and a rollback would
    leave uncommitted ones."""
    ids = {int(i) for i in workspace_ids if i}
    if not ids:
        return
    Workspace.objects.filter(pk__in=ids).update(directory_version=F("directory_version") + 1)
    transaction.on_commit(partial(renew_here, ids))


def bump_all_past(version: int) -> None:
    """After a restore: every workspace's version jumps past any number a running process
    may have kept (the restored rows carry older ones, which could be reused)."""
    # A bigint: a bare int would be sent as a 32-bit integer (Django's default for a Value).
    jump = Value(version, output_field=PositiveBigIntegerField())
    Workspace.objects.update(directory_version=F("directory_version") + jump)
    transaction.on_commit(caches[CACHE].clear)


def bump_on_change(model: type[models.Model], *, fields_shown: set[str] | None = None) -> None:
    """Saving or deleting a `model` row (it has a `workspace`) bumps its workspace's version;
    with `fields_shown`, a save of other fields only does not (they show in no list)."""
    label = model._meta.label_lower

    def saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
        shown = fields_shown is None or update_fields is None or fields_shown & set(update_fields)
        if created or shown:
            bump([instance.workspace_id])

    def deleted(sender, instance, **kwargs) -> None:
        bump([instance.workspace_id])

    post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"lists_{label}_saved")
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"lists_{label}_deleted")


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

    return kept(workspace, "members", load)


bump_on_change(Membership)

# A user's name or address shows in every workspace they belong to; their login or language
# shows nowhere in these lists.
_USER_FIELDS_SHOWN = {"name", "email"}


@receiver(post_save, sender=User, dispatch_uid="lists_user_saved")
def _user_saved(sender, instance: User, created: bool, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and not _USER_FIELDS_SHOWN & set(update_fields)):
        return
    bump(Membership.objects.filter(user=instance).values_list("workspace_id", flat=True))
