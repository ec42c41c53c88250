"""Set-based inserts of many rows: one column list per model, two ways of writing it.

``insert_rows(model, rows)`` takes plain dicts (field ``attname`` -> value); a column
missing from a row takes its field's default, exactly as ``Model()`` would. On PostgreSQL
the ids are reserved from the table's sequence in one query and the rows are streamed
with ``COPY`` (no model instances: the fast path of imports); elsewhere the same dicts
become instances saved by ``bulk_create``. The column list and the defaults come from the
model's fields in both paths, so a new field is written alike on both databases.
"""

import json
from collections.abc import Sequence
from functools import cache

from django.db import connection, models
from django.db.models.fields import NOT_PROVIDED


@cache
def _columns(model: type[models.Model]) -> tuple[tuple[str, str, object, bool], ...]:
    """``(attname, column, default, is_json)`` of the model's concrete fields but the primary key."""
    out = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        default = field.default if field.default is not NOT_PROVIDED else NOT_PROVIDED
        if default is NOT_PROVIDED and field.null:
            default = None
        out.append((field.attname, field.column, default, isinstance(field, models.JSONField)))
    return tuple(out)


def _value(row: dict, attname: str, default, is_json: bool):
    if attname in row:
        value = row[attname]
    elif default is NOT_PROVIDED:
        raise KeyError(f"No value for {attname} and the field has no default.")
    else:
        value = default() if callable(default) else default
    if is_json and value is not None:
        return json.dumps(value)
    return value


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new ids of ``model``'s table, in increasing order (PostgreSQL)."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def insert_rows(model: type[models.Model], rows: Sequence[dict]) -> list[int]:
    """Insert ``rows`` into ``model``'s table; return their new ids in the rows' order."""
    if not rows:
        return []
    columns = _columns(model)
    if connection.vendor != "postgresql":
        instances = [model(**row) for row in rows]
        model.objects.bulk_create(instances)
        return [instance.pk for instance in instances]
    ids = reserve_ids(model, len(rows))
    quote = connection.ops.quote_name
    names = ", ".join(["id", *(quote(column) for _attname, column, _default, _json in columns)])
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
        with raw.copy(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                copy.write_row(
                    (pk, *(_value(row, attname, default, is_json) for attname, _c, default, is_json in columns))
                )
    return ids
