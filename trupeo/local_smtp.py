"""The local trial's SMTP catcher: `make run` starts it on loopback, and the demo mailbox sends
its replies through it. Nothing leaves the machine: each message is printed, readable, on the
console, and the sender files its copy in the mailbox's Sent as with a real server.

Run alone with `python -m trupeo.local_smtp` (port: TRUPEO_LOCAL_SMTP_PORT, default 2525).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TextIO

from trupeo.mail_reading import RULE, readable

HOST = "127.0.0.1"
PORT_VARIABLE = "TRUPEO_LOCAL_SMTP_PORT"
DEFAULT_PORT = 2525


def local_smtp_port() -> int:
    return int(os.environ.get(PORT_VARIABLE) or DEFAULT_PORT)


class Catcher:
    """aiosmtpd handler: accepts every message and prints it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.caught: list[bytes] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it so
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        with self._lock:
            self.caught.append(raw)
            self.stream.write(
                f"{RULE}\nLocal SMTP catcher: caught (not delivered) a message sent as "
                f"{envelope.mail_from}\n{RULE}\n"
            )
            self.stream.write(readable(raw, envelope_to=list(envelope.rcpt_tos)))
            self.stream.write(f"{RULE}\n")
            self.stream.flush()
        return "250 2.0.0 Caught by the local trial, not delivered"


def catcher_start(*, port: int, stream: TextIO):
    """A started aiosmtpd Controller on loopback (`.stop()` it); its handler is `.handler`."""
    from aiosmtpd.controller import Controller  # a development dependency only

    controller = Controller(Catcher(stream), hostname=HOST, port=port, ready_timeout=10)
    controller.start()
    return controller


def main() -> int:
    port = local_smtp_port()
    try:
        controller = catcher_start(port=port, stream=sys.stdout)
    except OSError as error:
        print(f"The local SMTP catcher could not listen on {HOST}:{port}: {error}", flush=True)
        return 1
    print(f"Local SMTP catcher on {HOST}:{port}: sent mail is printed here.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stopped.set())
    signal.signal(signal.SIGINT, lambda *_args: stopped.set())
    stopped.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
