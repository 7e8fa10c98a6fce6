"""Rows read with SQL written once per process, instead of an ORM query compiled per call.

Only for the few reads every signed-in request pays before its view runs (its session, its
user, their memberships). There, compiling the ORM's query cost two to three times the CPU of
running it: 0.5–0.9 ms of 0.7–1.2 ms each, about a tenth of a list page's CPU
(bench/cpu_per_request.py). The column lists come from the models' own fields, so a new field
is read like the others, and the instances are built as the ORM builds them: each value through
the database's converters, then `Model.from_db`.
"""

from collections.abc import Sequence

from django.db import connections
from django.db.models import Model


class ModelRows:
    """How to read `model`'s rows under the SQL alias `alias`."""

    def __init__(self, model: type[Model], alias: str, using: str = "default") -> None:
        self.model, self.using, self._alias = model, using, alias
        connection = connections[using]
        quote = self._quote = connection.ops.quote_name
        fields = model._meta.concrete_fields
        self.table = f"{quote(model._meta.db_table)} {alias}"
        self.columns = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
        self.width = len(fields)
        self._attnames = [f.attname for f in fields]
        self._converters = []
        for i, field in enumerate(fields):
            col = field.get_col(alias)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self._converters.append((i, col, found))

    def column(self, name: str) -> str:
        """The column of the field `name` ("pk": the primary key's), with the alias."""
        field = self.model._meta.pk if name == "pk" else self.model._meta.get_field(name)
        return f"{self._alias}.{self._quote(field.column)}"

    def instance(self, row: Sequence, start: int = 0) -> Model:
        """The model read from `row[start:]`, as the ORM would have built it."""
        values = list(row[start : start + self.width])
        connection = connections[self.using]
        for i, col, converters in self._converters:
            for converter in converters:
                values[i] = converter(values[i], col, connection)
        return self.model.from_db(self.using, self._attnames, values)

    def fetch(self, sql: str, params: Sequence) -> list[tuple]:
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
