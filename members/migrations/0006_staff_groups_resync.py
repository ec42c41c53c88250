from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Program managers no longer delete members or partners (closed or deactivated instead)."""

    dependencies = [
        ("members", "0005_member_status"),
        ("partners", "0001_initial"),
        ("ledger", "0004_entry_kind_forfeit"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
