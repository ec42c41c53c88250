from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Gift card codes are exported in full with a permission of their own (program managers); support agents
    read the catalog and what members redeemed."""

    dependencies = [
        ("rewards", "0001_catalog"),
        ("campaigns", "0004_events"),
        ("members", "0009_staff_groups_resync"),
        ("tiers", "0005_policy_limits"),
        ("referrals", "0003_policy_limits"),
        ("partners", "0003_partner_return_window"),
        ("ledger", "0009_account_debt"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="vouchercode",
            options={"permissions": [("export_vouchercode", "Can export gift card codes in full")]},
        ),
        migrations.RunPython(sync_staff_groups, migrations.RunPython.noop),
    ]
