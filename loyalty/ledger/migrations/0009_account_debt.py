"""The debt of an account (a return of spent points) and the entries that change it: ``repay``, ``write_off``.

SQLite alters ``ledger_entry`` by remaking the table, which drops the triggers of 0007:
they are made again at the end (0007's note). PostgreSQL adds the column in place; its
triggers (0002) stay.
"""

import importlib

from django.db import migrations, models

_sqlite_immutable = importlib.import_module("loyalty.ledger.migrations.0007_sqlite_entries_immutable")


def forbid_again(apps, schema_editor):
    _sqlite_immutable.allow(apps, schema_editor)  # DROP TRIGGER IF EXISTS: whatever the remake left
    _sqlite_immutable.forbid(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0008_entry_kinds_gift_merge_adjustment_qualifying"),
    ]

    # Going back remakes the table too: the first operation, run last then, makes the triggers again.
    operations = [
        migrations.RunPython(migrations.RunPython.noop, forbid_again),
        migrations.RemoveConstraint(
            model_name="entry",
            name="entry_amount_not_zero",
        ),
        migrations.AddField(
            model_name="account",
            name="debt",
            field=models.BigIntegerField(default=0, help_text="Points owed after a return of spent points."),
        ),
        migrations.AddField(
            model_name="entry",
            name="debt",
            field=models.BigIntegerField(default=0, help_text="Signed change to the points the account owes."),
        ),
        migrations.AlterField(
            model_name="entry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("earn", "Earned"),
                    ("bonus", "Bonus"),
                    ("redeem", "Redeemed"),
                    ("adjust", "Adjustment"),
                    ("expire", "Expired"),
                    ("reverse", "Reversal"),
                    ("forfeit", "Forfeited"),
                    ("gift", "Gift"),
                    ("merge", "Merged"),
                    ("repay", "Debt repaid"),
                    ("write_off", "Written off"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(condition=models.Q(("debt__gte", 0)), name="account_debt_not_negative"),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(("debt", 0), models.Q(("balance", 0), ("pending", 0)), _connector="OR"),
                name="account_debt_without_points",
            ),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount", 0), ("debt", 0), _negated=True), name="entry_amount_not_zero"
            ),
        ),
        migrations.RunPython(forbid_again, migrations.RunPython.noop),
    ]
