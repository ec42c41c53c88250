from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """The export permissions; the historical models' view permissions beside the models' own, never their
    add or change; the key events (analysts read them)."""

    dependencies = [
        ("partners", "0006_key_admin_log_to_events"),
        ("members", "0010_member_export_permission"),
        ("ledger", "0013_entry_export_permission"),
        ("rewards", "0005_voucher_export_permission"),
        ("campaigns", "0006_historicalcampaign_historicalearningpolicy_and_more"),
        ("tiers", "0006_historicaltier_historicaltierpolicy"),
        ("webhooks", "0004_delivery_resent_by"),
        ("notifications", "0002_staff_groups_read_notifications"),
        ("referrals", "0003_policy_limits"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
