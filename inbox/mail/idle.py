"""Near-real-time arrival: an IMAP IDLE connection on each active mailbox's INBOX.

`manage.py imap_idle` runs one `IdleWatcher` per host. When the server announces new mail
(EXISTS), the watcher syncs that mailbox at once, in its own thread. Polling (the
`sync_all_mailboxes` beat task) stays on as the fallback for servers without IDLE and for
anything missed while a connection was down.
"""

import contextlib
import logging
import threading
import time

from django.db import close_old_connections, connection

from inbox.mail.imap import SettingsRefused, imap_connect, imap_settings
from inbox.mail.mailboxes import mailbox_credentials
from inbox.mail.sync import mailbox_sync
from inbox.models import Mailbox, Provider, SyncState

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 30  # how often the list of mailboxes to watch is read again
IDLE_RENEW_SECONDS = 24 * 60  # servers drop IDLE after 30 minutes (RFC 2177 says 29)
RECONNECT_MAX_SECONDS = 300
BUSY_RETRIES = 20  # a sync already running may have missed the newest message


def _sync_now(mailbox_id: int) -> None:
    for _attempt in range(BUSY_RETRIES):
        summary = mailbox_sync(mailbox_id=mailbox_id, parallel=False)  # threads: no fork
        if not summary.skipped_busy:
            return
        time.sleep(0.5)


def _has_new_mail(responses: list) -> bool:
    return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


def watch_mailbox(mailbox_id: int, stop: threading.Event) -> None:
    """IDLE on one INBOX until `stop` is set; reconnects with backoff."""
    backoff = 1.0
    try:
        while not stop.is_set():
            try:
                mailbox = Mailbox.objects.select_related("workspace").get(pk=mailbox_id)
                client = imap_connect(imap_settings(mailbox, mailbox_credentials(mailbox)))
            except Mailbox.DoesNotExist:
                return
            except SettingsRefused as error:
                # Never retried: the next sync pass says why on the health panel.
                logger.warning("mailbox %s: IDLE refused: %s", mailbox_id, error)
                return
            except Exception as error:
                logger.warning("mailbox %s: IDLE connection failed: %s", mailbox_id, error)
                close_old_connections()  # a lost database connection is replaced next time
                stop.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
                continue
            backoff = 1.0
            try:
                if b"IDLE" not in client.capabilities():
                    logger.info("mailbox %s: no IDLE on the server; polling only", mailbox_id)
                    return
                client.select_folder("INBOX", readonly=True)
                _sync_now(mailbox_id)  # catch up on what arrived while we were away
                while not stop.is_set():
                    client.idle()
                    started = time.monotonic()
                    new_mail = False
                    while not stop.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
                        if _has_new_mail(client.idle_check(timeout=1)):
                            new_mail = True
                            break
                    client.idle_done()
                    if new_mail:
                        _sync_now(mailbox_id)
            except Exception as error:
                logger.warning("mailbox %s: IDLE interrupted: %s", mailbox_id, error)
                stop.wait(backoff)
            finally:
                with contextlib.suppress(Exception):  # already closed
                    client.logout()
                close_old_connections()
    finally:
        connection.close()


class IdleWatcher:
    """Keeps one IDLE thread per active IMAP mailbox, following mailboxes as they change."""

    def __init__(self) -> None:
        self.threads: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self.stopped = threading.Event()

    def wanted(self) -> set[int]:
        return set(
            Mailbox.objects.filter(
                provider=Provider.IMAP, sync_state__in=[SyncState.ACTIVE, SyncState.ERROR]
            ).values_list("pk", flat=True)
        )

    def refresh(self) -> None:
        wanted = self.wanted()
        for mailbox_id in set(self.threads) - wanted:
            _thread, stop = self.threads.pop(mailbox_id)
            stop.set()
        for mailbox_id in wanted - set(self.threads):
            stop = threading.Event()
            thread = threading.Thread(
                target=watch_mailbox,
                args=(mailbox_id, stop),
                name=f"idle-{mailbox_id}",
                daemon=True,
            )
            thread.start()
            self.threads[mailbox_id] = (thread, stop)
        close_old_connections()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.refresh()
            self.stopped.wait(REFRESH_SECONDS)
        self.stop()

    def stop(self) -> None:
        self.stopped.set()
        for _thread, stop in self.threads.values():
            stop.set()
        for thread, _stop in self.threads.values():
            thread.join(timeout=5)
        self.threads.clear()
