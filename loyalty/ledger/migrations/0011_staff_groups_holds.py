from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Holds in the staff groups: support agents see them (and void them with ``ledger.adjust_points``)."""

    dependencies = [
        ("ledger", "0010_holds"),
        ("rewards", "0003_points_payment"),
        ("members", "0009_staff_groups_resync"),
        ("partners", "0003_partner_return_window"),
        ("campaigns", "0004_events"),
        ("tiers", "0005_policy_limits"),
        ("referrals", "0003_policy_limits"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
