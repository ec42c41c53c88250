"""Holds (pay with points at a till): ``Account.held``, ``Entry.held``, the kinds hold, capture and release, ``Hold``.

SQLite alters ``ledger_entry`` by remaking the table, which drops the triggers of 0007:
they are made again at the end, as 0009 does. PostgreSQL adds the column in place; its
triggers (0002) stay.
"""

import importlib

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models

_sqlite_immutable = importlib.import_module("loyalty.ledger.migrations.0007_sqlite_entries_immutable")


def forbid_again(apps, schema_editor):
    _sqlite_immutable.allow(apps, schema_editor)  # DROP TRIGGER IF EXISTS: whatever the remake left
    _sqlite_immutable.forbid(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("ledger", "0009_account_debt"),
        ("members", "0009_staff_groups_resync"),
    ]

    # Going back remakes the table too: the first operation, run last then, makes the triggers again.
    operations = [
        migrations.RunPython(migrations.RunPython.noop, forbid_again),
        migrations.CreateModel(
            name="Hold",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("points", models.BigIntegerField(help_text="Points held when the hold was placed.")),
                ("captured", models.BigIntegerField(default=0)),
                (
                    "released",
                    models.BigIntegerField(default=0, help_text="Points given back unspent (void, rest, expiry)."),
                ),
                (
                    "refunded",
                    models.BigIntegerField(default=0, help_text="Captured points given back since (a refund)."),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("captured", "Captured"),
                            ("voided", "Voided"),
                            ("expired", "Expired"),
                        ],
                        default="open",
                        max_length=16,
                    ),
                ),
                (
                    "expires_at",
                    models.DateTimeField(help_text="Released by the scheduled task if not captured by then."),
                ),
                ("created_at", models.DateTimeField()),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                ("actor_id", models.CharField(blank=True, default="", max_length=64)),
                ("cause_id", models.CharField(blank=True, default="", max_length=64)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="entry",
            name="entry_amount_not_zero",
        ),
        migrations.AddField(
            model_name="account",
            name="held",
            field=models.BigIntegerField(default=0, help_text="Points set aside by open holds (pay with points)."),
        ),
        migrations.AddField(
            model_name="entry",
            name="held",
            field=models.BigIntegerField(default=0, help_text="Signed change to the points the account holds aside."),
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
                    ("hold", "Held"),
                    ("capture", "Paid with held points"),
                    ("release", "Released"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(condition=models.Q(("held__gte", 0)), name="account_held_not_negative"),
        ),
        migrations.AddConstraint(
            model_name="entry",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount", 0), ("debt", 0), ("held", 0), _negated=True),
                name="entry_amount_not_zero",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="holds", to="ledger.account"
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="actor_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="capture_entry",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="captured_hold",
                to="ledger.entry",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="cause_type",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="entry",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="hold", to="ledger.entry"
            ),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(
                condition=models.Q(("status", "open")), fields=["expires_at"], name="hold_open_by_expiry"
            ),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(
                condition=models.Q(("status", "open")), fields=["account"], name="hold_open_by_account"
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(condition=models.Q(("points__gt", 0)), name="hold_points_positive"),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("captured__gte", 0),
                    (
                        "captured__lte",
                        django.db.models.expressions.CombinedExpression(models.F("points"), "-", models.F("released")),
                    ),
                    ("released__gte", 0),
                ),
                name="hold_captured_released_within_points",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("captured", 0), ("closed_at__isnull", True), ("released", 0), ("status", "open")),
                    models.Q(
                        models.Q(
                            models.Q(("captured__gt", 0), ("status", "captured")),
                            models.Q(("captured", 0), ("status__in", ["voided", "expired"])),
                            _connector="OR",
                        ),
                        (
                            "captured",
                            django.db.models.expressions.CombinedExpression(
                                models.F("points"), "-", models.F("released")
                            ),
                        ),
                        ("closed_at__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="hold_closed_all_at_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.CheckConstraint(
                condition=models.Q(("refunded__gte", 0), ("refunded__lte", models.F("captured"))),
                name="hold_refunded_within_captured",
            ),
        ),
        migrations.RunPython(forbid_again, migrations.RunPython.noop),
    ]
