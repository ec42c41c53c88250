"""``entry_kind_created`` (kind, created_at) also carries ``amount`` and ``account_id`` (PostgreSQL: INCLUDE).

The dashboard sums a period's entries by kind and counts their accounts: with both columns in
the index, PostgreSQL answers from the index alone instead of fetching millions of entry rows
(bench phase ``dashboard``). SQLite has no INCLUDE: there the index stays as it was. Dropped and
built again: on a large ledger this takes minutes and blocks writes to entries meanwhile.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0013_entry_export_permission"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="entry", name="entry_kind_created"),
        migrations.AddIndex(
            model_name="entry",
            index=models.Index(
                fields=["kind", "created_at"], include=["amount", "account"], name="entry_kind_created"
            ),
        ),
    ]
