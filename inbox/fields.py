"""A list of blind search tokens per row: a bigint[] on PostgreSQL (GIN-indexed), JSON text elsewhere."""

import json

from django.db import models


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
