"""Entries written before memo codes and causes: expiry memos become a code, and expiry and adjust entries get a cause.

Expiry entries stored English text ("100 points reached their expiry date"): they get
the code ``expired`` with their points, so every reader sees their own language, and
each moment of expiry one ``ExpiryRun``. Adjustments get an ``Adjustment`` with their
reason. Entries are immutable: on PostgreSQL this one migration lifts the trigger for
its own transaction (``ALTER TABLE`` holds the table's lock until the end); on SQLite
the trigger comes later (0007).
"""

from django.db import migrations

from loyalty.clock import program_date


def backfill(apps, schema_editor):
    Entry = apps.get_model("ledger", "Entry")
    ExpiryRun = apps.get_model("ledger", "ExpiryRun")
    Adjustment = apps.get_model("ledger", "Adjustment")
    ContentType = apps.get_model("contenttypes", "ContentType")
    legacy_expiries = Entry.objects.filter(kind="expire", cause_type__isnull=True)
    legacy_adjustments = Entry.objects.filter(kind="adjust", cause_type__isnull=True)
    if not legacy_expiries.exists() and not legacy_adjustments.exists():
        return
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE ledger_entry DISABLE TRIGGER ledger_entry_immutable")
    run_type, _ = ContentType.objects.get_or_create(app_label="ledger", model="expiryrun")
    adjustment_type, _ = ContentType.objects.get_or_create(app_label="ledger", model="adjustment")
    runs = {}
    for entry in legacy_expiries.order_by("pk"):
        if entry.created_at not in runs:
            runs[entry.created_at] = ExpiryRun.objects.create(
                created_at=entry.created_at, program_day=program_date(entry.created_at), source="schedule"
            )
        Entry.objects.filter(pk=entry.pk).update(
            memo="",
            memo_code="expired",
            memo_params={"points": -entry.amount},
            cause_type=run_type,
            cause_id=str(runs[entry.created_at].pk),
        )
    for entry in legacy_adjustments.order_by("pk"):
        adjustment = Adjustment.objects.create(
            account_id=entry.account_id, points=entry.amount, reason=entry.memo, created_at=entry.created_at
        )
        Entry.objects.filter(pk=entry.pk).update(cause_type=adjustment_type, cause_id=str(adjustment.pk))
    if postgres:
        schema_editor.execute("ALTER TABLE ledger_entry ENABLE TRIGGER ledger_entry_immutable")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("ledger", "0005_entry_memo_codes_causes_key_scope"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
