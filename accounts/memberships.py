"""Who belongs where: a person's memberships, read on every signed-in request."""

from functools import cache

from django.db import router

from accounts.models import Membership, User, Workspace
from trupeo.model_rows import ModelRows


@cache
def _read(using: str) -> tuple[ModelRows, ModelRows, str]:
    m, w = ModelRows(Membership, "m", using), ModelRows(Workspace, "w", using)
    # Names from the models' fields; the user's id is a parameter.
    sql = (
        f"SELECT {m.columns}, {w.columns} FROM {m.table}"  # noqa: S608
        f" JOIN {w.table} ON {w.column('pk')} = {m.column('workspace')}"
        f" WHERE {m.column('user')} = %s ORDER BY {m.column('joined_at')}, {m.column('pk')}"
    )
    return m, w, sql


def memberships_of(user: User) -> list[Membership]:
    """Every membership of `user`, with its workspace, oldest first: one query written once per
    process (the workspace middleware pays it on every request; see trupeo.model_rows)."""
    m, w, sql = _read(router.db_for_read(Membership))
    memberships = []
    for row in m.fetch(sql, [user.pk]):
        membership = m.instance(row)
        membership.workspace = w.instance(row, m.width)
        membership.user = user
        memberships.append(membership)
    return memberships
