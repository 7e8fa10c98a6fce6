"""Parsing and indexing in a second process, so a big sync keeps both cores busy.

The main process fetches from the server and writes to the database; a forked worker parses
each batch and computes its search tokens meanwhile. The worker inherits the workspace keys
through fork (they are never pickled or sent anywhere) and never touches the database.
"""

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor

from inbox.ingest import Prepared, prepare
from trupeo.crypto import WorkspaceKeys

_keys: WorkspaceKeys | None = None  # set in the parent just before the worker is forked


def _prepare_all(raws: list[bytes]) -> list[Prepared]:
    assert _keys is not None
    return [prepare(_keys, raw) for raw in raws]


def _ready() -> bool:
    return _keys is not None


class Preparer:
    """`submit(raws)` → a future of `Prepared` results, computed in a forked worker."""

    def __init__(self, keys: WorkspaceKeys) -> None:
        global _keys
        _keys = keys
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("fork")
        )
        # Fork now, while this process has no other thread running.
        if not self._pool.submit(_ready).result():
            raise RuntimeError("the preparing worker did not start")

    def submit(self, raws: list[bytes]) -> Future:
        return self._pool.submit(_prepare_all, raws)

    def close(self) -> None:
        global _keys
        self._pool.shutdown(wait=True, cancel_futures=True)
        _keys = None
