from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Program managers set a member's tier by hand (``tiers.set_tier``) and edit the tiers; analysts read them."""

    dependencies = [
        ("tiers", "0002_tier_policy_row"),
        ("members", "0007_member_phone_merged_into"),
        ("ledger", "0008_entry_kinds_gift_merge_adjustment_qualifying"),
        ("partners", "0002_presence_code"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="membertier",
            options={"permissions": [("set_tier", "Can set a member's tier by hand")]},
        ),
        migrations.RunPython(sync_staff_groups, migrations.RunPython.noop),
    ]
