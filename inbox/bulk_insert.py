"""Insert many new rows fast: COPY on PostgreSQL, `bulk_create` elsewhere.

Django's bulk INSERT builds one huge statement per batch (a few thousand parameters) that
psycopg then re-parses; for a 200-message batch that costs as much as parsing the messages.
COPY streams the rows instead. Ids are drawn from the table's sequence first, so the rows can
be referenced (attachments → messages) exactly as after `bulk_create`.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def rows_insert[M: Model](objs: Sequence[M]) -> None:
    """Save new, unsaved instances of one model; afterwards each has its primary key."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    opts = model._meta
    fields = opts.concrete_fields
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(quote(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                # Foreign keys to objects saved earlier in the batch get their ids now.
                obj._prepare_related_fields_for_save(operation_name="rows_insert")
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
