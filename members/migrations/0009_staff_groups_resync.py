from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Program managers merge members (``members.merge_member``) and edit the gift policy."""

    dependencies = [
        ("members", "0008_gift_policy_gift_merge_permission"),
        ("partners", "0002_presence_code"),
        ("ledger", "0008_entry_kinds_gift_merge_adjustment_qualifying"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
