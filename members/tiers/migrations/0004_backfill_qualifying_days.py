"""Qualifying days for the points earned before tiers existed, so that every member starts with
what they earned (and ``ledger_audit``'s qualifying check holds from the first day).

Earned and bonus credits count on the program day they were made, minus what was reversed of
them, on that same day; no adjustment was qualifying yet. On PostgreSQL one INSERT ... SELECT;
elsewhere the database groups the entries and the rows are written in batches.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, migrations
from django.db.models import Sum
from django.db.models.functions import TruncDate

QUALIFYING_KINDS = ["earn", "bonus"]
BATCH = 5_000

_BACKFILL_SQL = """
INSERT INTO tiers_qualifyingday (member_id, day, points, spend_amount)
SELECT member_id, day, SUM(points), 0 FROM (
    SELECT a.member_id, (e.created_at AT TIME ZONE %(zone)s)::date AS day, e.amount AS points
    FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id
    WHERE e.kind IN ('earn', 'bonus') AND e.amount > 0
    UNION ALL
    SELECT a.member_id, (o.created_at AT TIME ZONE %(zone)s)::date, e.amount
    FROM ledger_entry e
    JOIN ledger_entry o ON o.id = e.reverses_id
    JOIN ledger_account a ON a.id = e.account_id
    WHERE e.kind = 'reverse' AND o.kind IN ('earn', 'bonus') AND o.amount > 0
) AS credited
GROUP BY member_id, day
HAVING SUM(points) > 0
ON CONFLICT (member_id, day) DO NOTHING
"""


def backfill(apps, schema_editor):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_BACKFILL_SQL, {"zone": settings.TIME_ZONE})
        return
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
