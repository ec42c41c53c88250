"""The migration that gives members what they earned before tiers existed: the same days the ledger writes now."""

import importlib
from datetime import UTC, datetime

from django.apps import apps
from django.test import override_settings

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit_qualifying
from members.tiers.models import QualifyingDay
from tests.factories.members import MemberFactory

backfill = importlib.import_module("members.tiers.migrations.0004_backfill_qualifying_days").backfill

LATE_EVENING_UTC = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Paris
NEXT_WEEK = datetime(2026, 3, 8, 12, tzinfo=UTC)


def all_days():
    return sorted(QualifyingDay.objects.values_list("member_id", "day", "points"))


@override_settings(TIME_ZONE="Europe/Paris")
def test_the_backfill_writes_the_days_the_ledger_writes_reversals_on_the_original_day(db):
    ada, bob = MemberFactory(), MemberFactory()
    first = ledger.credit(ada.account, 300, memo="earned", now=LATE_EVENING_UTC)
    ledger.credit(ada.account, 40, "bonus", memo="bonus", now=NEXT_WEEK)
    ledger.adjust(ada.account, 25, reason="goodwill", now=NEXT_WEEK)  # not qualifying
    ledger.reverse(first, points=100, now=NEXT_WEEK)
    gone = ledger.credit(bob.account, 50, memo="earned", now=NEXT_WEEK)
    ledger.reverse(gone, now=NEXT_WEEK)  # wholly reversed: no day left with points
    written_by_the_ledger = all_days()
    QualifyingDay.objects.all().delete()

    backfill(apps, None)

    assert all_days() == [row for row in written_by_the_ledger if row[2] > 0]
    assert (ada.pk, LATE_EVENING_UTC.date().replace(day=2), 200) in all_days()
    assert audit_qualifying() == []


def test_the_backfill_on_an_empty_ledger_writes_nothing(db):
    backfill(apps, None)

    assert all_days() == []
