"""Parsing and indexing in a second process, so a big sync keeps both cores busy.

The main process fetches from the server and writes to the database; a forked worker parses
each batch and computes its search tokens meanwhile. The worker inherits the workspace keys
through fork (they are never pickled or sent anywhere) and never touches the database.
"""

import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor

from inbox.ingest import Prepared, prepare
from trupeo.crypto import WorkspaceKeys

_keys: WorkspaceKeys | None = None  # set in the parent just before the worker is forked
_parent_pid = 0
PR_SET_PDEATHSIG = 1


def _prepare_all(raws: list[bytes]) -> list[Prepared]:
    assert _keys is not None
    return [prepare(_keys, raw) for raw in raws]


def _ready() -> bool:
    return _keys is not None


def _die_with_parent() -> None:
    """A killed sync must not leave its worker behind (holding the database socket it
    inherited): ask Linux to kill the worker when its parent dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the worker still exits when the pool shuts down
        return
    if os.getppid() != _parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class Preparer:
    """`submit(raws)` → a future of `Prepared` results, computed in a forked worker."""

    def __init__(self, keys: WorkspaceKeys) -> None:
        global _keys, _parent_pid
        _keys, _parent_pid = keys, os.getpid()
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_die_with_parent,
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
