"""Django's database sessions, read with SQL written once per process.

Sessions stay in the database (a Redis outage must not sign anyone out); only the read every
request makes is cheaper than the ORM's query (see trupeo.model_rows). Everything else is
Django's: saving, cycling keys, expiry, clearing.
"""

from functools import cache

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from trupeo.model_rows import ModelRows


@cache
def _read(using: str) -> tuple[ModelRows, str]:
    rows = ModelRows(db.SessionStore.get_model_class(), "s", using)
    key, data, expiry = (
        rows.column(name) for name in ("session_key", "session_data", "expire_date")
    )
    return rows, f"SELECT {data} FROM {rows.table} WHERE {key} = %s AND {expiry} > %s"  # noqa: S608


class SessionStore(db.SessionStore):
    def load(self) -> dict:
        if not self.session_key:
            self._session_key = None
            return {}
        using = router.db_for_read(self.model)
        rows, sql = _read(using)
        # The time as the ORM would send it (on SQLite, naive UTC text like the stored values).
        now = self.model._meta.get_field("expire_date").get_db_prep_value(
            timezone.now(), connections[using]
        )
        found = rows.fetch(sql, [self.session_key, now])
        if not found:  # unknown or expired: a new session, as Django's store does
            self._session_key = None
            return {}
        return self.decode(found[0][0])
