"""Who is on a conversation right now: "Bob is viewing", "Bob is replying".

Kept in the Django cache only (Redis in production, a file or memory cache otherwise): one
short-lived entry per person and conversation, refreshed by the page's heartbeat every
HEARTBEAT seconds and gone TTL seconds after the last one. Nothing about presence reaches the
database. One entry per person (never one shared list) so two heartbeats cannot overwrite
each other; reading the room is one `get_many` over the workspace's members.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from trupeo.cache import cache_available

HEARTBEAT = 5  # seconds between two heartbeats of an open conversation page
TTL = 30  # seconds after the last heartbeat before someone stops being shown

VIEWING = "viewing"
REPLYING = "replying"


@dataclass(frozen=True)
class Presence:
    user_id: int
    state: str  # VIEWING or REPLYING


def _key(conversation_id: int, user_id: int) -> str:
    return f"presence:{conversation_id}:{user_id}"


def presence_touch(
    *, conversation_id: int, user_id: int, replying: bool, now: float | None = None
) -> None:
    """A heartbeat: this person is on the conversation (and writing a reply, or not)."""
    now = time.time() if now is None else now
    value = {"state": REPLYING if replying else VIEWING, "until": now + TTL}
    # The cache entry outlives `until` a little: expiry is decided by `until`, so that a
    # clock passed in tests and a cache's own rounding agree.
    cache.set(_key(conversation_id, user_id), value, timeout=TTL + 5)


def presence_available() -> bool:
    """False while the cache is unreachable: nobody can be shown, and the page says why."""
    return cache_available(cache)


def presence_leave(*, conversation_id: int, user_id: int) -> None:
    cache.delete(_key(conversation_id, user_id))


def presence_others(
    *,
    conversation_id: int,
    user_ids: Iterable[int],
    exclude: int | None = None,
    now: float | None = None,
) -> list[Presence]:
    """Who else is on the conversation, replying first, in `user_ids` order otherwise."""
    now = time.time() if now is None else now
    ids = [pk for pk in user_ids if pk != exclude]
    found = cache.get_many([_key(conversation_id, pk) for pk in ids])
    present = []
    for pk in ids:
        value = found.get(_key(conversation_id, pk))
        if isinstance(value, dict) and value.get("until", 0) > now:
            present.append(Presence(user_id=pk, state=value.get("state") or VIEWING))
    return sorted(present, key=lambda p: p.state != REPLYING)
