"""Near-real-time arrival over IMAP IDLE: thousands of connections per process, shared among
any number of watcher processes on any number of hosts.

`manage.py imap_idle` runs one `IdleWatcher`: a single asyncio event loop holding an IDLE
connection on the INBOX of each mailbox it leases (inbox/mail/idle_leases.py). When the
server announces new mail (EXISTS), the watcher only queues a sync task
(`inbox.tasks.sync_mailbox_now`) for the Celery workers; it never syncs itself. Its database
work (leases, loading a mailbox's settings) runs on one thread, so a watcher holds one
database connection whatever the number of mailboxes; name resolution and TCP connects run on
a small pool, and connections go through the same checks as every other one
(inbox/mail/idle_connection.py). Polling (the `sync_all_mailboxes` beat task) stays on as
the fallback for servers without IDLE and for anything missed while a connection was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from aioimaplib import STOP_WAIT_SERVER_PUSH
from django.conf import settings
from django.db import close_old_connections, connection

from inbox.mail.idle_connection import close_quietly, idle_connect, open_socket_blocking
from inbox.mail.idle_leases import leases_release, leases_tick, watchable
from inbox.mail.imap import ServerSettings, SettingsRefused, imap_settings
from inbox.mail.mailboxes import mailbox_credentials

logger = logging.getLogger(__name__)

IDLE_RENEW_SECONDS = 24 * 60  # servers drop IDLE after 30 minutes (RFC 2177 says 29)
RECONNECT_MAX_SECONDS = 300
CONNECT_THREADS = 16  # name resolution and TCP connects in flight at once
CONNECTS_AT_ONCE = 64  # logins in flight at once (a watcher starting with 2,000 mailboxes)
_LOST = [b"connection lost"]


def _has_new_mail(lines: list) -> bool:
    return any(
        isinstance(line, bytes) and line.split(b" ")[-1:] in ([b"EXISTS"], [b"RECENT"])
        for line in lines
    )


def _server_settings(mailbox_id: int) -> ServerSettings | None:
    """The mailbox's IMAP settings, if it is still to be watched (database thread)."""
    try:
        mailbox = watchable().select_related("workspace").filter(pk=mailbox_id).first()
        return imap_settings(mailbox, mailbox_credentials(mailbox)) if mailbox else None
    finally:
        close_old_connections()


def _close_database() -> None:
    connection.close()  # (looked up on the calling thread: each thread has its own)


def _queue_sync(mailbox_id: int) -> None:
    from inbox.tasks import sync_mailbox_now
    from trupeo.queueing import enqueue

    try:
        enqueue(sync_mailbox_now, mailbox_id)
    finally:
        if connection.connection is not None:
            connection.close()  # eager runs (tests) open one on this thread


class IdleWatcher:
    """One process's share of the IMAP mailboxes, each watched with IDLE."""

    def __init__(self, *, holder: str = "", lease_seconds: int | None = None) -> None:
        self.holder = holder or f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=lease_seconds or settings.TRUPEO_IDLE_LEASE_SECONDS)
        self.tick_seconds = max(1.0, self.lease.total_seconds() / 3)
        self.limit = settings.TRUPEO_IDLE_MAX_MAILBOXES
        self.stopped = threading.Event()
        self.tasks: dict[int, asyncio.Task] = {}
        self.idling: set[int] = set()  # mailboxes whose IDLE is running now
        self._database = ThreadPoolExecutor(1, thread_name_prefix="idle-db")
        self._network = ThreadPoolExecutor(CONNECT_THREADS, thread_name_prefix="idle-connect")
        self._queueing = ThreadPoolExecutor(2, thread_name_prefix="idle-queue")
        self._connects: asyncio.Semaphore | None = None

    def wanted(self) -> set[int]:
        """Every mailbox some watcher should hold (this one holds its share of them)."""
        return set(watchable().values_list("pk", flat=True))

    # --- the loop --------------------------------------------------------------------------

    async def _in_database(self, function, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._database, partial(function, *args, **kwargs))

    def _tick(self) -> set[int]:
        try:
            return leases_tick(holder=self.holder, lease=self.lease, limit=self.limit)
        finally:
            close_old_connections()

    def _release(self) -> None:
        try:
            leases_release(holder=self.holder)
        finally:
            connection.close()

    async def run_async(self) -> None:
        self._connects = asyncio.Semaphore(CONNECTS_AT_ONCE)
        try:
            while not self.stopped.is_set():
                try:
                    held = await self._in_database(self._tick)
                except Exception as error:  # the database is away: keep what we hold
                    logger.warning("idle watcher: leases not renewed (%s)", type(error).__name__)
                    held = set(self.tasks)
                self._follow(held)
                await self._sleep(self.tick_seconds)
        finally:
            await self._stop_all()
            with contextlib.suppress(Exception):
                await self._in_database(self._release)
            self._database.shutdown(wait=True)
            self._network.shutdown(wait=False)
            self._queueing.shutdown(wait=True)

    def _follow(self, held: set[int]) -> None:
        for mailbox_id in set(self.tasks) - held:
            self.tasks.pop(mailbox_id).cancel()
        for mailbox_id in held - set(self.tasks):
            self.tasks[mailbox_id] = asyncio.create_task(
                self.watch(mailbox_id), name=f"idle-{mailbox_id}"
            )

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when the process is asked to stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.stopped.is_set() and loop.time() < deadline:
            await asyncio.sleep(min(0.25, deadline - loop.time()))

    async def _stop_all(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        self.tasks.clear()

    # --- one mailbox -----------------------------------------------------------------------

    async def _queue_sync(self, mailbox_id: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._queueing, _queue_sync, mailbox_id)

    async def watch(self, mailbox_id: int) -> None:
        """IDLE on one INBOX until cancelled or the mailbox needs no watching; reconnects
        with backoff."""
        backoff = 1.0
        loop = asyncio.get_running_loop()
        while not self.stopped.is_set():
            try:
                server = await self._in_database(_server_settings, mailbox_id)
            except Exception as error:
                logger.warning("mailbox %s: IDLE settings not read (%s)", mailbox_id, error)
                server = None
                await self._sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
                continue
            if server is None:
                return
            lost = asyncio.Event()
            client = None
            try:
                assert self._connects is not None
                async with self._connects:
                    client = await idle_connect(
                        server,
                        open_socket=lambda s=server: loop.run_in_executor(
                            self._network, open_socket_blocking, s
                        ),
                        on_lost=lambda _error, event=lost: event.set(),
                    )
            except SettingsRefused as error:
                # Never retried: the next sync pass says why on the health panel.
                logger.warning("mailbox %s: IDLE refused: %s", mailbox_id, error)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("mailbox %s: IDLE connection failed: %s", mailbox_id, error)
                # Jitter: a server back from an outage is not hit by every mailbox at once.
                await self._sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
                continue
            backoff = 1.0
            try:
                if not client.has_capability("IDLE"):
                    logger.info("mailbox %s: no IDLE on the server; polling only", mailbox_id)
                    return
                await self._queue_sync(mailbox_id)  # catch up on what came while we were away
                await self._idle(client, mailbox_id, lost)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("mailbox %s: IDLE interrupted: %s", mailbox_id, error)
                await self._sleep(backoff * random.uniform(0.5, 1.5))
            finally:
                self.idling.discard(mailbox_id)
                close_quietly(client)

    async def _idle(self, client, mailbox_id: int, lost: asyncio.Event) -> None:
        lost_waiter = asyncio.create_task(lost.wait())
        try:
            while not self.stopped.is_set():
                idle = await client.idle_start(timeout=IDLE_RENEW_SECONDS)
                self.idling.add(mailbox_id)
                new_mail = False
                while client.has_pending_idle():
                    push = asyncio.create_task(client.wait_server_push())
                    done, _pending = await asyncio.wait(
                        {push, lost_waiter}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if lost_waiter in done:
                        push.cancel()
                        raise ConnectionResetError("the server closed the connection")
                    lines = push.result()
                    if lines == STOP_WAIT_SERVER_PUSH:
                        break  # time to renew the IDLE
                    if _has_new_mail(lines):
                        new_mail = True
                        break
                client.idle_done()
                await asyncio.wait_for(idle, 30)
                self.idling.discard(mailbox_id)
                if new_mail:
                    await self._queue_sync(mailbox_id)
        finally:
            lost_waiter.cancel()

    # --- the process -----------------------------------------------------------------------

    def run(self) -> None:
        asyncio.run(self.run_async())

    def stop(self) -> None:
        self.stopped.set()


def watch_mailbox(mailbox_id: int, stop: threading.Event) -> None:
    """IDLE on one mailbox in this thread until `stop` is set, without leases (a single
    mailbox's check, and tests): the same connection and the same queuing as the watcher."""
    watcher = IdleWatcher(holder=f"single-{uuid.uuid4().hex[:8]}")
    watcher.stopped = stop

    async def main() -> None:
        watcher._connects = asyncio.Semaphore(1)
        task = asyncio.create_task(watcher.watch(mailbox_id))
        try:
            while not task.done() and not stop.is_set():
                await asyncio.sleep(0.1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            await watcher._in_database(_close_database)  # the database thread's own
            watcher._database.shutdown(wait=True)
            watcher._network.shutdown(wait=False)
            watcher._queueing.shutdown(wait=True)

    try:
        asyncio.run(main())
    finally:
        connection.close()
