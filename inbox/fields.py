"""A list of blind search tokens per row: a bigint[] on PostgreSQL (GIN-indexed), JSON text elsewhere."""

import json

from django.db import models
from django.db.models import Lookup
from django.db.models.lookups import FieldGetDbPrepValueMixin


class TokenArrayField(models.Field):
    description = "A list of 63-bit search tokens"

    def db_type(self, connection) -> str:
        return "bigint[]" if connection.vendor == "postgresql" else "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        tokens = [int(t) for t in value]
        return tokens if connection.vendor == "postgresql" else json.dumps(tokens)

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)

    def to_python(self, value):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)


@TokenArrayField.register_lookup
class ContainsAll(FieldGetDbPrepValueMixin, Lookup):
    """Every token of the value is in the row's list (GIN-indexed `@>` on PostgreSQL)."""

    lookup_name = "contains_all"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} @> ({rhs})::bigint[]", [*lhs_params, *rhs_params]
        # lhs and rhs are compiled fragments with placeholders; the values are parameters.
        sql = (
            f"NOT EXISTS (SELECT 1 FROM json_each({rhs}) AS wanted WHERE wanted.value NOT IN "  # noqa: S608
            f"(SELECT value FROM json_each({lhs})))"
        )
        return sql, [*rhs_params, *lhs_params]
