from django.db import migrations

from loyalty.staff_groups import sync_staff_groups


class Migration(migrations.Migration):
    """Program managers configure badges, streaks and leaderboards (and reset nicknames); analysts read them."""

    dependencies = [
        ("leaderboards", "0001_leaderboards"),
        ("badges", "0002_badge_icon_milestones"),
        ("streaks", "0002_policy_row_purchase_counts"),
        ("notifications", "0004_badge_earned"),
        ("ledger", "0014_entry_kind_created_covering"),
        ("members", "0010_member_export_permission"),
        ("tiers", "0007_tier_change_created"),
        ("referrals", "0003_policy_limits"),
        ("rewards", "0005_voucher_export_permission"),
        ("campaigns", "0007_purchase_by_occurred_at"),
        ("partners", "0007_staff_groups_exports_history"),
        ("webhooks", "0004_delivery_resent_by"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(sync_staff_groups, migrations.RunPython.noop)]
