"""Version numbers per workspace that move whenever its inbox changes.

Lists poll with the version they were rendered at and get a bodiless 204 while it has not
moved, so polling every few seconds costs a cache read, not a list query. Bumped after the
commit, so a poller never sees the new version before the new rows.

The team's counts (open, unassigned, pending, snoozed, spam) have a version of their own that
moves only with changes that can move them: a reassignment from one person to another changes
a list's rows but no team count, and recounting the team costs more than any list (an index
scan of every conversation that is not closed).

With the cache unreachable there is no version (None): live updates are paused, the page
says so and polls slowly until the cache is back.
"""

from django.core.cache import cache
from django.db import transaction

_KEY = "inbox-version:{}"
_COUNTS_KEY = "inbox-counts-version:{}"
_TTL = 7 * 24 * 3600


def _read(keys: list[str]) -> list[str | None]:
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        # First read (or the cache was flushed): any fresh value makes every poller refresh.
        for key in missing:
            cache.add(key, 1, _TTL)
        found |= cache.get_many(missing)
    return [None if found.get(key) is None else str(found[key]) for key in keys]


def workspace_version(workspace_id: int) -> str | None:
    """The current version, or None while the cache keeps nothing (live updates paused)."""
    return _read([_KEY.format(workspace_id)])[0]


def workspace_versions(workspace_id: int) -> tuple[str | None, str | None]:
    """(the current version, the team counts' version), read together."""
    version, counts = _read([_KEY.format(workspace_id), _COUNTS_KEY.format(workspace_id)])
    return version, counts


def workspace_touched(workspace_id: int, *, counts: bool = True) -> None:
    """The inbox changed; `counts=False` when no team count can have moved with it."""
    # The counts' version first: a sidebar reloading because the inbox's version moved must
    # find the counts' version moved already, or it would keep the old counts until the next.
    keys = ([_COUNTS_KEY.format(workspace_id)] if counts else []) + [_KEY.format(workspace_id)]

    def bump() -> None:
        for key in keys:
            try:
                cache.incr(key)
            except ValueError:  # not in the cache yet
                cache.set(key, 2, _TTL)

    transaction.on_commit(bump)
