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


_JSON_CACHE: dict = {}


def _json(value):
    """JSON text of a column's value; small flat dicts (an award's parameters) are encoded once."""
    if value is None:
        return None
    if isinstance(value, dict) and len(value) <= 4:
        try:
            key = tuple(value.items())
            text = _JSON_CACHE.get(key)
        except TypeError:  # an unhashable value
            return json.dumps(value)
        if text is None:
            if len(_JSON_CACHE) > 10_000:
                _JSON_CACHE.clear()
            text = _JSON_CACHE[key] = json.dumps(value)
        return text
    return json.dumps(value)


def _missing(attname: str):
    raise KeyError(f"No value for {attname} and the field has no default.")


@cache
def _row_builder(model: type[models.Model]):
    """A function of a row dict that returns the COPY tuple of its columns: each missing column takes its
    default, JSON columns their text. Built once per model (a generic loop per value costs too much)."""
    names = {"_json": _json, "_missing": _missing}
    parts = []
    for number, (attname, _column, default, is_json) in enumerate(_columns(model)):
        if default is NOT_PROVIDED:
            value = f"(row[{attname!r}] if {attname!r} in row else _missing({attname!r}))"
        elif callable(default):
            names[f"d{number}"] = default
            value = f"(row[{attname!r}] if {attname!r} in row else d{number}())"
        else:
            names[f"d{number}"] = default
            value = f"row.get({attname!r}, d{number})"
        parts.append(f"_json({value})" if is_json else value)
    source = f"def build(pk, row):\n    return (pk, {', '.join(parts)})\n"
    exec(source, names)  # noqa: S102 - code built from the model's own field names
    return names["build"]


@cache
def _sequence(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        return cursor.fetchone()[0]


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new ids of ``model``'s table, in increasing order (PostgreSQL)."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequence(model._meta.db_table), count]
        )
        return [row[0] for row in cursor.fetchall()]


def insert_rows(model: type[models.Model], rows: Sequence[dict], *, ids: Sequence[int] | None = None) -> list[int]:
    """Insert ``rows`` into ``model``'s table; return their new ids in the rows' order.

    ``ids``: ids reserved before with ``reserve_ids`` (PostgreSQL only), when other rows
    must name these before they are written.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        if ids is not None:
            raise ValueError("Ids are reserved on PostgreSQL only.")
        instances = [model(**row) for row in rows]
        model.objects.bulk_create(instances)
        return [instance.pk for instance in instances]
    ids = list(ids) if ids is not None else reserve_ids(model, len(rows))
    quote = connection.ops.quote_name
    names = ", ".join(["id", *(quote(column) for _attname, column, _default, _json in _columns(model))])
    build = _row_builder(model)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
        with raw.copy(f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for pk, row in zip(ids, rows, strict=True):
                write(build(pk, row))
    return ids
