from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Support agents and program managers read purchases and events and approve events."""

    dependencies = [
        ("campaigns", "0002_policy_and_builtin_event_types"),
        ("members", "0009_staff_groups_resync"),
        ("partners", "0003_partner_return_window"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
