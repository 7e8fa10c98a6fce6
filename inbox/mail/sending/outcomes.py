"""What an attempt to send or to file can come back with, shared by the SMTP/IMAP path
(delivery, filing) and the provider APIs (inbox.mail.providers.sending)."""

from dataclasses import dataclass
from datetime import datetime


class Refused(Exception):
    """The server refused before accepting the message: nothing left."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


class Interrupted(Exception):
    """The connection broke while the message itself was being transferred.

    `checkable`: the provider keeps its own copy in Sent (Gmail, Graph), so the next attempt
    can look there by Message-ID first and never send twice: retried like a transient failure.
    Over SMTP nothing can tell, so it fails and waits for a person."""

    def __init__(self, reason: str, *, checkable: bool = False) -> None:
        super().__init__(reason)
        self.checkable = checkable


@dataclass(frozen=True)
class Delivery:
    refused: dict[str, str]  # recipients the server refused while accepting the others


@dataclass(frozen=True)
class SentCopy:
    provider_key: str
    raw: bytes | None = None  # the server's bytes, when we fetched them
    internal_date: datetime | None = None
