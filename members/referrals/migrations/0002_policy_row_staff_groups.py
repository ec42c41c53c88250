from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


def create_policy(apps, schema_editor):
    apps.get_model("referrals", "ReferralPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    """The referral policy's one row; program managers edit it, and they and support agents review referrals."""

    dependencies = [
        ("referrals", "0001_initial"),
        ("members", "0007_member_phone_merged_into"),
        ("partners", "0001_initial"),
        ("ledger", "0008_entry_kinds_gift_merge_adjustment_qualifying"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_policy, migrations.RunPython.noop),
        migrations.RunPython(sync_staff_groups, migrations.RunPython.noop),
    ]
