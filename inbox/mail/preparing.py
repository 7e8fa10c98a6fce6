"""Preparing messages in a second process, so a big sync keeps both cores busy.

The main process fetches from the server and writes to the database; a forked worker parses,
indexes and seals each batch meanwhile, and writes its objects (`inbox.mail.message_content`).
The worker inherits the workspace keys through fork (they are never pickled or sent
anywhere), never touches the database, and sends back only sealed values and headers.
"""

import ctypes
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor

from inbox.mail.ingest import RawMail
from inbox.mail.message_content import Prepared, prepare
from trupeo.crypto import WorkspaceKeys
from trupeo.storage import object_store, object_stores_forget

# Set in the parent just before the worker is forked.
_keys: WorkspaceKeys | None = None
_mailbox_id = 0
_parent_pid = 0
PR_SET_PDEATHSIG = 1


def _prepare_all(mails: list[tuple[str, bytes]]) -> list[Prepared]:
    assert _keys is not None
    store = object_store()
    prepared = [
        prepare(_keys, store, mailbox_id=_mailbox_id, provider_key=key, raw=raw)
        for key, raw in mails
    ]
    store.flush()  # durable before the parent commits rows that point at them
    return prepared


def _ready() -> bool:
    return _keys is not None


def _start() -> None:
    """In the worker, first thing: die with the parent, and build its own store clients."""
    # A killed sync must not leave its worker behind (holding the database socket it
    # inherited): ask Linux to kill the worker when its parent dies.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the worker still exits when the pool shuts down
        pass
    else:
        if os.getppid() != _parent_pid:  # the parent died before prctl took effect
            os._exit(1)
    object_stores_forget()


class Preparer:
    """`submit(mails)` → a future of their `Prepared` results, computed in forked workers."""

    def __init__(self, keys: WorkspaceKeys, *, mailbox_id: int, workers: int = 1) -> None:
        global _keys, _mailbox_id, _parent_pid
        _keys, _mailbox_id, _parent_pid = keys, mailbox_id, os.getpid()
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start,
        )
        # Fork now, while this process has no other thread running.
        try:
            if not all(f.result() for f in [self._pool.submit(_ready) for _ in range(workers)]):
                raise RuntimeError("the preparing workers did not start")
        except BaseException:
            self._pool.shutdown(wait=True, cancel_futures=True)
            raise

    def submit(self, mails: list[RawMail]) -> Future:
        return self._pool.submit(_prepare_all, [(m.provider_key, m.raw) for m in mails])

    def close(self) -> None:
        global _keys
        self._pool.shutdown(wait=True, cancel_futures=True)
        _keys = None
