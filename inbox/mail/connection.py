"""Testing a mailbox's IMAP and SMTP servers before it is saved: log in, say how it went.

Passwords only travel into the server test: they are never logged or shown in error reports.
"""

import imaplib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables
from imapclient.imapclient import SENT

from inbox.mail.imap import MailServerError, ServerSettings, describe, imap_connect, smtp_connect


@dataclass(frozen=True)
class ProtocolCheck:
    protocol: str
    ok: bool
    message: str


@dataclass(frozen=True)
class ConnectionReport:
    imap: ProtocolCheck
    smtp: ProtocolCheck
    # The server's Sent folder, when it could be found (SPECIAL-USE, then usual names).
    sent_folder: str = ""

    @property
    def ok(self) -> bool:
        return self.imap.ok and self.smtp.ok

    @property
    def checks(self) -> tuple[ProtocolCheck, ProtocolCheck]:
        return (self.imap, self.smtp)

    @property
    def error(self) -> str:
        """The first failure, as the health panel's sentence."""
        return next((c.message for c in self.checks if not c.ok), "")


@sensitive_variables("server")
def _imap_check(server: ServerSettings) -> tuple[ProtocolCheck, str]:
    try:
        client = imap_connect(server)
    except MailServerError as error:
        return ProtocolCheck("IMAP", False, str(error)), ""
    try:
        try:
            selected = client.select_folder("INBOX", readonly=True)
        except Exception as error:
            message = describe(error, host=server.host, protocol="IMAP", folder="INBOX")
            return ProtocolCheck("IMAP", False, message), ""
        count = int(selected.get(b"EXISTS", 0))
        try:
            sent = client.find_special_folder(SENT) or ""
        except (imaplib.IMAP4.error, OSError):
            sent = ""
        message = ngettext(
            "Logged in to %(host)s as %(username)s; the inbox holds %(count)s message.",
            "Logged in to %(host)s as %(username)s; the inbox holds %(count)s messages.",
            count,
        ) % {"host": server.host, "username": server.username, "count": count}
        if sent:
            message += " " + _("Sent folder: “%(folder)s”.") % {"folder": sent}
        else:
            message += " " + _(
                "No Sent folder was found: create one so that replies are kept on the server."
            )
        return ProtocolCheck("IMAP", True, message), sent
    finally:
        with suppress(Exception):
            client.logout()


@sensitive_variables("server")
def _smtp_check(server: ServerSettings) -> ProtocolCheck:
    try:
        smtp = smtp_connect(server)
    except MailServerError as error:
        return ProtocolCheck("SMTP", False, str(error))
    with suppress(Exception):
        smtp.quit()
    if server.username:
        message = _("Logged in to %(host)s as %(username)s: replies can be sent.")
    else:
        message = _("Connected to %(host)s: replies can be sent.")
    return ProtocolCheck("SMTP", True, message % {"host": server.host, "username": server.username})


def _in_language[T](language: str | None, check: Callable[[ServerSettings], T]):
    def run(server: ServerSettings) -> T:
        with translation.override(language):
            return check(server)

    return run


@sensitive_variables("imap", "smtp")
def connection_test(*, imap: ServerSettings, smtp: ServerSettings) -> ConnectionReport:
    """Log in to both servers (at the same time: each may take up to its timeout), open the
    inbox, look for the Sent folder, and say how it went. Saves nothing."""
    language = translation.get_language()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mailbox-test") as pool:
        imap_future = pool.submit(_in_language(language, _imap_check), imap)
        smtp_future = pool.submit(_in_language(language, _smtp_check), smtp)
        imap_check, sent = imap_future.result()
        smtp_check = smtp_future.result()
    return ConnectionReport(imap=imap_check, smtp=smtp_check, sent_folder=sent)
