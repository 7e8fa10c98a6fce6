"""A list of blind search tokens per row: a bigint[] on PostgreSQL (GIN-indexed), JSON text elsewhere."""

import json
import struct

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

    # A binary COPY (inbox.mail.bulk_insert) sends the array already encoded: psycopg's own
    # array dumper spends a Python call per element, and a message has about a hundred.
    copy_binary_oid = 1016  # bigint[]

    @staticmethod
    def copy_binary(value) -> bytes | None:
        return None if value is None else bigint_array_binary([int(t) for t in value])

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)

    def to_python(self, value):
        if value is None or isinstance(value, list):
            return value
        return json.loads(value)


def bigint_array_binary(values: list[int]) -> bytes:
    """A one-dimensional bigint[] in PostgreSQL's binary format: dimensions, flags (no
    NULLs), element type, then each element as its length (8) and its value."""
    if not values:
        return struct.pack(">3i", 0, 0, _INT8_OID)
    interleaved: list[int] = [8] * (2 * len(values))
    interleaved[1::2] = values
    return struct.pack(f">5i{'iq' * len(values)}", 1, 0, _INT8_OID, len(values), 1, *interleaved)


_INT8_OID = 20


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
