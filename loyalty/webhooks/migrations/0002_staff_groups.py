from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Program managers register endpoints and resend deliveries; analysts read them."""

    dependencies = [
        ("webhooks", "0001_webhooks"),
        ("rewards", "0002_catalog_permissions"),
        ("campaigns", "0004_events"),
        ("members", "0009_staff_groups_resync"),
        ("tiers", "0005_policy_limits"),
        ("referrals", "0003_policy_limits"),
        ("partners", "0003_partner_return_window"),
        ("ledger", "0009_account_debt"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
