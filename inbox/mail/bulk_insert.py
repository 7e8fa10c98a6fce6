"""Insert many new rows fast: binary COPY on PostgreSQL, `bulk_create` elsewhere.

Django's bulk INSERT builds one huge statement per batch (a few thousand parameters) that
psycopg then re-parses; for a 200-message batch that costs as much as parsing the messages.
COPY streams the rows instead, and its binary format sends sealed bytes as they are (the text
format would spell every byte out in hex, on both sides of the socket). Ids are drawn from
the table's sequence first, so the rows can be referenced (attachments → messages) exactly
as after `bulk_create`.
"""

from collections.abc import Callable, Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Field, Model
from psycopg import pq
from psycopg.adapt import Dumper

_types: dict[str, dict[str, int]] = {}


def _column_types(cursor, table: str) -> dict[str, int]:
    """Binary COPY needs each column's exact type: asked of the table once per process."""
    if table not in _types:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        _types[table] = dict(cursor.fetchall())
    return _types[table]


class _Encoded(Dumper):
    """For a column whose field encodes its values itself (`copy_binary`): sent as they are."""

    format = pq.Format.BINARY

    def dump(self, obj: bytes) -> bytes:
        return obj


def _encoded_dumper(oid: int) -> type[Dumper]:
    return type(f"_Encoded{oid}", (_Encoded,), {"oid": oid})


# Fields whose column takes the attribute as it is when it has the Python type the field
# stands for: Django's per-value preparation (a few calls per value, 24 values a message)
# changes nothing then. Anything else goes through it.
_AS_IS: tuple[tuple[type[Field], type], ...] = (
    (models.BooleanField, bool),
    (models.IntegerField, int),  # and the big, small, positive and auto ones
    (models.ForeignKey, int),
    (models.CharField, str),
    (models.BinaryField, bytes),
)


def column_reader(field: Field, db) -> Callable[[Model], object]:
    """obj -> the value of `field` to COPY."""

    def prepared(obj: Model) -> object:
        return field.get_db_prep_save(field.pre_save(obj, True), db)

    encode = getattr(field, "copy_binary", None)
    if encode is not None:
        return lambda obj: encode(prepared(obj))
    kind = next((kind for cls, kind in _AS_IS if isinstance(field, cls)), None)
    if kind is None:
        return prepared
    attname = field.attname

    def as_is(obj: Model) -> object:
        value = getattr(obj, attname)
        return value if value is None or type(value) is kind else prepared(obj)

    return as_is


def ids_reserve[M: Model](objs: Sequence[M]) -> None:
    """Give new instances their primary keys before their rows are written, so that values
    bound to the id (sealed with it) can be computed first. On PostgreSQL the ids come from
    the table's sequence and the rows are still unwritten (`_state.adding`); elsewhere the
    rows are inserted now and must be saved again once those values are set."""
    objs = [obj for obj in objs if obj.pk is None]
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk


def rows_insert[M: Model](objs: Sequence[M]) -> None:
    """Save new, unsaved instances of one model; afterwards each has its primary key."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    ids_reserve(objs)
    opts = model._meta
    fields = opts.concrete_fields
    db = connections[DEFAULT_DB_ALIAS]  # not the proxy: fields ask it things per value
    quote = db.ops.quote_name
    with db.cursor() as cursor:
        types = _column_types(cursor, opts.db_table)
        columns = ", ".join(quote(f.column) for f in fields)
        sql = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN (FORMAT BINARY)"
        for field in fields:
            if hasattr(field, "copy_binary"):
                cursor.cursor.adapters.register_dumper(None, _encoded_dumper(field.copy_binary_oid))
        readers = [column_reader(f, db) for f in fields]
        with cursor.cursor.copy(sql) as copy:
            copy.set_types([types[f.column] for f in fields])
            for obj in objs:
                # Foreign keys to objects saved earlier in the batch get their ids now.
                obj._prepare_related_fields_for_save(operation_name="rows_insert")
                copy.write_row([read(obj) for read in readers])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
