"""On PostgreSQL, refuse UPDATE and DELETE of ledger entries and allocations.

Entries are the ledger's history: a mistake is corrected by a new reversing entry, never
by editing one. (TRUNCATE, which the test runner uses to empty tables, is not refused.)
"""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger % rows are immutable: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_allocation_immutable BEFORE UPDATE OR DELETE ON ledger_allocation
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

ALLOW = """
DROP TRIGGER IF EXISTS ledger_allocation_immutable ON ledger_allocation;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def forbid(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID, params=None)


def allow(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(forbid, allow)]
