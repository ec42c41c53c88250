from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Every staff group reads the notifications sent to members (the member page shows them)."""

    dependencies = [
        ("notifications", "0001_notifications"),
        ("webhooks", "0004_delivery_resent_by"),
        ("rewards", "0004_historicalcharity_historicalreward"),
        ("campaigns", "0006_historicalcampaign_historicalearningpolicy_and_more"),
        ("members", "0009_staff_groups_resync"),
        ("tiers", "0006_historicaltier_historicaltierpolicy"),
        ("referrals", "0003_policy_limits"),
        ("partners", "0004_historicalpartner"),
        ("ledger", "0011_staff_groups_holds"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
