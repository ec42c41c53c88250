from django.db import migrations
from django.utils import timezone


def policy_row_and_counts(apps, schema_editor):
    """The one policy row, and each member's purchases so far (the purchase milestones count from them)."""
    apps.get_model("streaks", "StreakPolicy").objects.get_or_create(pk=1)
    Purchase = apps.get_model("campaigns", "Purchase")
    MemberActivity = apps.get_model("streaks", "MemberActivity")
    from django.db.models import Count

    now = timezone.now()
    counts = (
        Purchase.objects.filter(outcome__in=["earned", "nothing"])
        .order_by()
        .values("member_id")
        .annotate(total=Count("pk"))
        .values_list("member_id", "total")
    )
    batch = []
    for member_id, total in counts.iterator(chunk_size=2000):
        batch.append(MemberActivity(member_id=member_id, purchases=total, updated_at=now))
        if len(batch) == 2000:
            MemberActivity.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    MemberActivity.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("streaks", "0001_streak_policy_member_activity"),
        ("campaigns", "0007_purchase_by_occurred_at"),
    ]

    operations = [migrations.RunPython(policy_row_and_counts, migrations.RunPython.noop)]
