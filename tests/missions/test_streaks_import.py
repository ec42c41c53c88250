"""The CSV import's batch path keeps the streaks, the purchase counts and the purchase milestones as the API does."""

import csv
import io
from datetime import UTC, datetime

import pytest

from campaigns.imports import COLUMNS, purchases_import
from loyalty.outbox.models import EventType, OutboxEvent
from missions.badges.models import MemberBadge
from missions.streaks.models import MemberActivity
from tests.factories.campaigns import purchase_post
from tests.factories.games import badge_make, first_purchase_badge
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 12, 18, tzinfo=UTC)


def rows(*purchases) -> list[dict]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for external_id, member, day in purchases:
        writer.writerow(
            {
                "external_id": external_id,
                "member": member.member_number,
                "occurred_at": f"2027-03-{day:02d}T11:00:00+00:00",
                "amount": "10.00",
                "currency": "EUR",
                "sku": "A",
                "quantity": "1",
                "unit_price": "10.00",
            }
        )
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_an_imported_batch_extends_streaks_counts_purchases_and_awards_milestones():
    first_purchase_badge()
    badge_make("three", milestone="purchases", milestone_count=3)
    ada, bob = MemberFactory(), MemberFactory()
    purchase_post(bob, now=datetime(2027, 3, 9, 12, tzinfo=UTC))

    result = purchases_import(
        partner=PartnerFactory(),
        rows=rows(("T1", ada, 10), ("T2", ada, 11), ("T3", bob, 10), ("T4", ada, 12), ("T5", bob, 12)),
        now=NOW,
    )

    assert result.purchases == 5
    activity = {row.pk: row for row in MemberActivity.objects.all()}
    assert (activity[ada.pk].purchases, activity[ada.pk].streak_current, activity[ada.pk].streak_longest) == (3, 3, 3)
    assert (activity[bob.pk].purchases, activity[bob.pk].streak_current, activity[bob.pk].streak_longest) == (3, 1, 2)
    held = sorted(MemberBadge.objects.values_list("member_id", "badge__code"))
    assert held == sorted(
        [(ada.pk, "first-purchase"), (ada.pk, "three"), (bob.pk, "first-purchase"), (bob.pk, "three")]
    )
    assert OutboxEvent.objects.filter(type=EventType.BADGE_EARNED).count() == 4
