"""A version number per workspace that moves whenever its inbox changes.

Lists poll with the version they were rendered at and get a bodiless 204 while it has not
moved, so polling every few seconds costs a cache read, not a list query. Bumped after the
commit, so a poller never sees the new version before the new rows.

With the cache unreachable there is no version (None): live updates are paused, the page
says so and polls slowly until the cache is back.
"""

from django.core.cache import cache
from django.db import transaction

_KEY = "inbox-version:{}"
_TTL = 7 * 24 * 3600


def workspace_version(workspace_id: int) -> str | None:
    """The current version, or None while the cache keeps nothing (live updates paused)."""
    version = cache.get(_KEY.format(workspace_id))
    if version is None:
        # First read (or the cache was flushed): any fresh value makes every poller refresh.
        cache.add(_KEY.format(workspace_id), 1, _TTL)
        version = cache.get(_KEY.format(workspace_id))
    return None if version is None else str(version)


def workspace_touched(workspace_id: int) -> None:
    def bump() -> None:
        key = _KEY.format(workspace_id)
        try:
            cache.incr(key)
        except ValueError:  # not in the cache yet
            cache.set(key, 2, _TTL)

    transaction.on_commit(bump)
