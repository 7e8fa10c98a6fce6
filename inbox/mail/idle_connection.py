"""An asyncio IMAP connection for IDLE, opened under the same rules as every other one.

The socket comes from `inbox.mail.imap.server_socket` (a saved password only to the server it
was saved for; the name resolved once, every address checked, the socket connected to a
checked address), then aioimaplib speaks IMAP over it; TLS, direct or after STARTTLS, is
verified against the host name, never against whatever it resolves to later.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from aioimaplib import IMAP4, Command, IMAP4ClientProtocol
from django.utils.translation import gettext as _

from inbox.mail.imap import (
    TIMEOUT,
    MailServerError,
    ServerSettings,
    describe,
    server_socket,
    ssl_context,
)
from inbox.models import Security


class PinnedIMAP4(IMAP4):
    """aioimaplib's client on a socket connected beforehand to a checked address."""

    def __init__(
        self,
        server: ServerSettings,
        sock: socket.socket,
        *,
        on_lost: Callable[[Exception | None], None] | None = None,
    ) -> None:
        self.server = server
        self._pinned_socket = sock
        super().__init__(host=server.host, port=server.port, timeout=TIMEOUT, conn_lost_cb=on_lost)

    def create_client(self, host, port, loop, conn_lost_cb=None, ssl_context_=None) -> None:
        running = asyncio.get_running_loop()
        self.protocol = IMAP4ClientProtocol(running, conn_lost_cb)
        tls = self.server.security == Security.TLS
        self._pinned_socket.setblocking(False)
        self._client_task = running.create_task(
            running.create_connection(
                lambda: self.protocol,
                sock=self._pinned_socket,
                ssl=ssl_context() if tls else None,
                server_hostname=host if tls else None,
                ssl_handshake_timeout=TIMEOUT if tls else None,
            )
        )

    async def starttls(self) -> None:
        """Upgrade to TLS (verified against the host name) before anything else is sent."""
        protocol = self.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise MailServerError(
                _("%(host)s does not offer STARTTLS on this port.") % {"host": self.host}
            )
        response = await asyncio.wait_for(
            protocol.execute(Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
            self.timeout,
        )
        if response.result != "OK":
            raise MailServerError(
                _("%(host)s does not offer STARTTLS on this port.") % {"host": self.host}
            )
        loop = asyncio.get_running_loop()
        protocol.transport = await loop.start_tls(
            protocol.transport,
            protocol,
            ssl_context(),
            server_hostname=self.host,
            ssl_handshake_timeout=TIMEOUT,
        )
        protocol.capabilities = set()  # what was said in clear is forgotten (RFC 3501 6.2.1)
        await asyncio.wait_for(protocol.capability(), self.timeout)


async def idle_connect(
    server: ServerSettings,
    *,
    open_socket: Callable[[], asyncio.Future],
    on_lost: Callable[[Exception | None], None] | None = None,
) -> PinnedIMAP4:
    """A logged-in client with INBOX examined (read-only), or MailServerError in words.

    `open_socket()` runs `server_socket(server, "IMAP")` off the event loop (name resolution
    and the TCP connection block)."""
    sock = await open_socket()
    client = PinnedIMAP4(server, sock, on_lost=on_lost)
    try:
        await client.wait_hello_from_server()
        if server.security == Security.STARTTLS:
            await client.starttls()
        response = await client.login(server.username, server.password)
        if response.result != "OK":
            raise MailServerError(
                _("%(protocol)s login refused by %(host)s: check the username and password.")
                % {"protocol": "IMAP", "host": server.host}
            )
        if "IDLE" not in client.protocol.capabilities:
            await client.protocol.capability()  # some servers announce more after login
        response = await client.examine("INBOX")
        if response.result != "OK":
            raise MailServerError(
                describe(Exception(response.lines), host=server.host, protocol="IMAP")
            )
        # aioimaplib only moves to SELECTED on SELECT; EXAMINE (read-only) selects too.
        client.protocol.state = "SELECTED"
    except BaseException:
        close_quietly(client)
        raise
    return client


def close_quietly(client: PinnedIMAP4) -> None:
    transport = client.protocol.transport if client.protocol else None
    if transport is not None:
        transport.close()
    else:
        client._pinned_socket.close()


def open_socket_blocking(server: ServerSettings) -> socket.socket:
    return server_socket(server, "IMAP")
