"""Qualifying days for the points earned before tiers existed, so that every member starts with
what they earned (and ``ledger_audit``'s qualifying check holds from the first day).

Earned and bonus credits count on the program day they were made, minus what was reversed of
them, on that same day; no adjustment was qualifying yet. Set-based: the database groups the
entries; the rows are written in batches.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.db.models import Sum
from django.db.models.functions import TruncDate

QUALIFYING_KINDS = ["earn", "bonus"]
BATCH = 5_000


def backfill(apps, schema_editor):
    Entry = apps.get_model("ledger", "Entry")
    QualifyingDay = apps.get_model("tiers", "QualifyingDay")
    zone = ZoneInfo(settings.TIME_ZONE)
    by_day = {"account__member_id", "day"}
    earned = (
        Entry.objects.filter(kind__in=QUALIFYING_KINDS, amount__gt=0)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values(*by_day)
        .annotate(points=Sum("amount"))
        .order_by("account__member_id", "day")
    )
    # Reversals are few: held in memory; the credits stream past them in batches.
    reversed_ = {
        (row["account__member_id"], row["day"]): row["points"]
        for row in Entry.objects.filter(kind="reverse", reverses__kind__in=QUALIFYING_KINDS, reverses__amount__gt=0)
        .annotate(day=TruncDate("reverses__created_at", tzinfo=zone))
        .values(*by_day)
        .annotate(points=Sum("amount"))
    }
    batch = []
    for row in earned.iterator(chunk_size=BATCH):
        points = row["points"] + reversed_.get((row["account__member_id"], row["day"]), 0)
        if points > 0:
            batch.append(QualifyingDay(member_id=row["account__member_id"], day=row["day"], points=points))
        if len(batch) >= BATCH:
            QualifyingDay.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    QualifyingDay.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tiers", "0003_set_tier_permission"),
        ("ledger", "0008_entry_kinds_gift_merge_adjustment_qualifying"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
