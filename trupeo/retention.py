"""Where other apps hand their data to the retention policy, without importing `privacy`.

An app that holds data of a retention category (the portal's sessions and sign-in links, the
contacts of requesters who were never clients) registers a `Purger` from its
`AppConfig.ready()`:

    from trupeo.retention import AUTH_LOGS, Purger, purger_register

    purger_register(AUTH_LOGS, Purger(name="portal.sessions", count=..., purge=...))

`privacy.gdpr.retention_run` reads the registry: it never imports those apps, and they never
import it. Both functions take the workspace's id and a cutoff (rows older than it go);
`purge` deletes at most `limit` rows in one short transaction and returns how many went, so
the daily run stays in batches and resumes where it stopped. `count` must be a plain COUNT
(the preview screen calls it): no decryption, no loading rows.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

# The categories other apps may register for (privacy.gdpr.retention_policies lists them all).
AUTH_LOGS = "auth_logs"  # portal sessions and requesters' sign-in links
CONTACTS = "contacts"  # contact details of requesters who were never clients
REGISTRABLE = (AUTH_LOGS, CONTACTS)


@dataclass(frozen=True)
class Purger:
    name: str  # "<app>.<what>", for the logs; never shown with any content
    count: Callable[[int, datetime], int]  # (workspace_id, cutoff) -> rows older than cutoff
    purge: Callable[[int, datetime, int], int]  # (workspace_id, cutoff, limit) -> rows deleted


_purgers: dict[str, dict[str, Purger]] = {category: {} for category in REGISTRABLE}


def purger_register(category: str, purger: Purger) -> None:
    """Idempotent by name: `ready()` may run twice (tests, autoreload)."""
    if category not in _purgers:
        raise ValueError(f"unknown retention category {category!r}")
    _purgers[category][purger.name] = purger


def purger_unregister(category: str, name: str) -> None:
    _purgers.get(category, {}).pop(name, None)


def purgers(category: str) -> list[Purger]:
    return list(_purgers.get(category, {}).values())
