"""On SQLite, refuse UPDATE and DELETE of ledger entries and allocations, as 0002 does on PostgreSQL.

The triggers let a change through only while ``ledger_rows_may_change()`` answers 1: a
function the ledger registers on its own SQLite connections, which answers 1 only inside
``manage.py flush`` (the test runner's way of emptying tables; on PostgreSQL flush is a
TRUNCATE, which row triggers do not see either). Any other client (the sqlite3 shell)
has no such function, so its change fails too.

Django remakes a SQLite table to alter it, which drops its triggers: a later migration
that alters ``ledger_entry`` or ``ledger_allocation`` must run FORBID again (the guard
tests fail otherwise).
"""

from django.db import migrations

TABLES = ("ledger_entry", "ledger_allocation")


def _statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_immutable_{op.lower()} BEFORE {op} ON {table} "
        f"WHEN ledger_rows_may_change() = 0 "
        f"BEGIN SELECT RAISE(ABORT, 'ledger {table} rows are immutable: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


def forbid(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for table in TABLES:
            for statement in _statements(table):
                schema_editor.execute(statement, params=None)


def allow(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for table in TABLES:
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable_{op}", params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_legacy_entries_codes_and_causes")]

    operations = [migrations.RunPython(forbid, allow)]
