"""When Trupeo's own parts fail (database, file storage, task queue), say so in words.

A sync or a send that fails because our database dropped the connection, our disk is full or
our queue is down must never be reported as the customer's mail server's fault. The sentences
name the part, never its address or settings (an exception's text often holds both, so it is
never shown).
"""

from __future__ import annotations

import errno

from botocore.exceptions import BotoCoreError, ClientError
from django.db import Error as DjangoDatabaseError
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError
from psycopg import Error as PsycopgError
from psycopg import InterfaceError as PsycopgInterfaceError
from psycopg import OperationalError as PsycopgOperationalError
from redis.exceptions import RedisError

from trupeo.storage import StorageError

# A write that failed for lack of room or a storage device in trouble (never a socket's errno).
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})

# DATABASE_LOST: the connection (or the server) went away; DATABASE: it refused a statement.
DATABASE_LOST, DATABASE, STORAGE, QUEUE, INTERNAL = (
    "database-lost",
    "database",
    "storage",
    "queue",
    "internal",
)


def fault_part(error: BaseException) -> str | None:
    """DATABASE_LOST, DATABASE, STORAGE or QUEUE when one of our own parts caused `error`.

    Looks at the error and what directly caused it (a worker process's error comes back
    wrapped)."""
    for candidate in (error, error.__cause__):
        if candidate is None:
            continue
        if isinstance(
            candidate,
            DjangoOperationalError
            | DjangoInterfaceError
            | PsycopgOperationalError
            | PsycopgInterfaceError,
        ):
            return DATABASE_LOST
        if isinstance(candidate, DjangoDatabaseError | PsycopgError):
            return DATABASE
        if isinstance(candidate, StorageError | BotoCoreError | ClientError) or (
            isinstance(candidate, OSError) and candidate.errno in STORAGE_ERRNOS
        ):
            return STORAGE
        if isinstance(candidate, RedisError | BrokerError):
            return QUEUE
    return None


def fault_sentence(error: BaseException) -> str | None:
    """A sentence for people when our own part is at fault, else None."""
    part = fault_part(error)
    if part == DATABASE_LOST:
        return _(
            "Trupeo lost the connection to its own database. This is not a problem with the "
            "mail server."
        )
    if part == DATABASE:
        return _(
            "Trupeo's own database refused to save a change (an internal error, logged for "
            "Trupeo's team). This is not a problem with the mail server."
        )
    if part == STORAGE:
        return _(
            "Trupeo could not write to its own file storage (full or unreachable). This is not "
            "a problem with the mail server."
        )
    if part == QUEUE:
        return _(
            "Trupeo's internal task queue was unavailable. This is not a problem with the mail "
            "server."
        )
    return None


def internal_error_sentence() -> str:
    """For an error that is neither the mail server's nor one of the parts above: a bug."""
    return _(
        "Trupeo hit an internal error (logged for Trupeo's team). This is not a problem with "
        "the mail server."
    )
