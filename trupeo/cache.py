"""Django's Redis cache, made to survive Redis going away.

Nothing Trupeo keeps in the cache is the only copy of anything: counts, live-update versions,
presence and rate-limit counters. So while Redis cannot be reached every read is a miss and
every write is dropped, with one warning in the log per outage instead of a 500 per request.

A short circuit breaker keeps an outage cheap: after a failure, Redis is not tried again for
`RETRY_AFTER` seconds, so pages do not each wait for a connect timeout.

Rate limits are the exception to "a miss": a limiter that always misses never limits, and
allauth's limiter, unable to take its lock, refuses every login. Keys under the prefixes in
OPTIONS["LOCAL_FALLBACK_PREFIXES"] therefore live in this process's memory during an outage:
limits stay in force (per process) and logins keep working.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds without trying Redis after a failure

T = TypeVar("T")

# Per server, shared by the per-thread cache instances Django creates.
_down_until: dict[str, float] = {}
_lock = threading.Lock()


class KeptClientRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one redis.Redis per connection pool.

    Django builds a new redis.Redis for every operation, and building one (its table of
    response callbacks) costs about twice the CPU of the GET it then sends. A redis.Redis over
    a pool is safe to share between threads: each command borrows a connection."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class ResilientRedisCache(RedisCache):
    """RedisCache whose failures are misses (see the module's docstring)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self._fallback_prefixes = tuple(options.pop("LOCAL_FALLBACK_PREFIXES", ()))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = KeptClientRedisCacheClient
        self._server_id = ",".join(self._servers)
        self._local = LocMemCache(f"resilient-fallback:{self._server_id}", {"MAX_ENTRIES": 10000})

    # --- the breaker -----------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while Redis is considered down (a recent failure)."""
        return _down_until.get(self._server_id, 0.0) <= time.monotonic()

    def _call(self, operation: Callable[[], T], fallback: Callable[[], T]) -> T:
        if not self.available:
            return fallback()
        try:
            result = operation()
        except (RedisError, OSError) as error:
            with _lock:
                was_up = _down_until.get(self._server_id, 0.0) <= time.monotonic()
                _down_until[self._server_id] = time.monotonic() + RETRY_AFTER
            if was_up:
                # The class name only: redis-py's messages name the host and port.
                logger.warning(
                    "cache unavailable (%s): serving without it, retrying in %ss",
                    type(error).__name__,
                    RETRY_AFTER,
                )
            return fallback()
        if _down_until.pop(self._server_id, None) is not None:
            logger.warning("cache available again")
        return result

    def _local_key(self, key: str) -> bool:
        return bool(self._fallback_prefixes) and key.startswith(self._fallback_prefixes)

    # --- the operations: a miss, or this process's memory for rate limits ------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            lambda: super(ResilientRedisCache, self).add(key, value, timeout, version),
            lambda: (
                self._local.add(key, value, timeout, version) if self._local_key(key) else False
            ),
        )

    def get(self, key, default=None, version=None):
        return self._call(
            lambda: super(ResilientRedisCache, self).get(key, default, version),
            lambda: self._local.get(key, default, version) if self._local_key(key) else default,
        )

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            lambda: super(ResilientRedisCache, self).set(key, value, timeout, version),
            lambda: self._local.set(key, value, timeout, version) if self._local_key(key) else None,
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(
            lambda: super(ResilientRedisCache, self).touch(key, timeout, version),
            lambda: self._local.touch(key, timeout, version) if self._local_key(key) else False,
        )

    def delete(self, key, version=None):
        return self._call(
            lambda: super(ResilientRedisCache, self).delete(key, version),
            lambda: self._local.delete(key, version) if self._local_key(key) else False,
        )

    def get_many(self, keys, version=None):
        keys = list(keys)
        return self._call(
            lambda: super(ResilientRedisCache, self).get_many(keys, version),
            lambda: self._local.get_many([k for k in keys if self._local_key(k)], version),
        )

    def has_key(self, key, version=None):
        return self._call(
            lambda: super(ResilientRedisCache, self).has_key(key, version),
            lambda: self._local.has_key(key, version) if self._local_key(key) else False,
        )

    def incr(self, key, delta=1, version=None):
        def fallback():
            if self._local_key(key):
                return self._local.incr(key, delta, version)
            raise ValueError(f"Key '{key}' not found")  # what a miss looks like to incr

        return self._call(
            lambda: super(ResilientRedisCache, self).incr(key, delta, version), fallback
        )

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        def fallback():
            local = {k: v for k, v in data.items() if self._local_key(k)}
            self._local.set_many(local, timeout, version)
            return [k for k in data if k not in local]  # the keys that were not stored

        return self._call(
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), fallback
        )

    def delete_many(self, keys, version=None):
        keys = list(keys)
        return self._call(
            lambda: super(ResilientRedisCache, self).delete_many(keys, version),
            lambda: self._local.delete_many([k for k in keys if self._local_key(k)], version),
        )

    def clear(self):
        self._local.clear()
        return self._call(lambda: super(ResilientRedisCache, self).clear(), lambda: False)


def cache_available(cache: Any) -> bool:
    """Whether `cache` holds what it is given right now (any backend without a breaker: yes)."""
    return bool(getattr(cache, "available", True))


def count_in_window(key: str, window: int) -> int:
    """Count one event under `key` in a fixed window of `window` seconds and return how many
    so far: the counter is created with its expiry, then only incremented (atomic on Redis)."""
    from django.core.cache import cache

    if cache.add(key, 1, timeout=window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return 1
