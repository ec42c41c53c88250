"""The breakdown's reasons, rendered: every code the engine writes has words, with its points."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from campaigns import engine
from campaigns.engine import Basket, Campaign, Line, MemberFacts, Program, RateOverride, Rule
from campaigns.reasons import REASONS, reason_label


@pytest.mark.parametrize(
    ("code", "params", "label"),
    [
        pytest.param("base", {"rate": "1", "points": 120}, "Base: 120", id="base"),
        pytest.param("base", {"rate": "1"}, "Base", id="base-without-points"),
        pytest.param(
            "rate_override", {"rate": "2", "override": 4, "points": 30}, "Base (special rate: 2 points per unit): 30",
            id="rate-override",
        ),
        pytest.param(
            "multiplier", {"factor": "2", "campaign": "Double points weekend", "points": 120},
            "Double points weekend: 120", id="multiplier",
        ),
        pytest.param("multiplier", {"factor": "3"}, "Points x3", id="multiplier-without-a-campaign"),
        pytest.param(
            "first_purchase_bonus", {"campaign": "Welcome", "points": 50}, "Welcome (first purchase bonus): 50",
            id="first-purchase",
        ),
        pytest.param(
            "basket_bonus", {"campaign": "Big basket", "min_amount": "50", "points": 1500},
            "Big basket (basket bonus): 1,500", id="basket-bonus-grouped",
        ),
        pytest.param(
            "quantity_bonus", {"campaign": "Three wines", "min_quantity": "3", "points": 9},
            "Three wines (quantity bonus): 9", id="quantity-bonus",
        ),
        pytest.param("event", {"type": "review", "points": 20}, "Points for review: 20", id="event"),
        pytest.param(
            "event", {"type": "review", "type_name": "Review written"}, "Points for Review written", id="event-name"
        ),
        pytest.param(
            "event_points", {"campaign": "Review month", "type": "review", "points": 5},
            "Review month (event bonus): 5", id="event-points",
        ),
        pytest.param(
            "tier_multiplier", {"tier": "Gold", "factor": "1.2", "points": 24}, "Gold multiplier: 24", id="tier"
        ),
        pytest.param(
            "member_cap", {"campaign": "Weekend", "cap": 100, "period": "day", "points": 30},
            "Weekend: 30 points not awarded (your limit for the day reached)", id="cap-day",
        ),
        pytest.param(
            "member_cap", {"campaign": "Weekend", "cap": 100, "period": "week", "points": 1},
            "Weekend: 1 point not awarded (your limit for the week reached)", id="cap-week-one-point",
        ),
        pytest.param(
            "member_cap", {"campaign": "Weekend", "cap": 100, "period": "campaign"},
            "Weekend: your limit for this campaign is reached", id="cap-campaign-without-points",
        ),
        pytest.param(
            "budget_spent", {"campaign": "Weekend", "points": 15},
            "Weekend: 15 points not awarded (the campaign's budget is spent)", id="budget",
        ),
        pytest.param(
            "budget_spent", {"campaign": "Weekend"}, "Weekend: the campaign's budget is spent", id="budget-no-points"
        ),
        pytest.param("something_new", {"points": 3}, "something_new", id="unknown-code-shown-as-is"),
    ],
)  # fmt: skip
def test_reason_labels_in_english(code, params, label):
    with translation.override("en"):
        assert reason_label(code, params) == label


def test_every_reason_the_engine_writes_has_a_label():
    program = Program(points_per_unit=Decimal(1), time_zone="UTC", overrides=(RateOverride(1, Decimal(2), sku="B"),))
    rules = (
        Rule(1, engine.MULTIPLIER, multiplier=Decimal(2)),
        Rule(2, engine.FIRST_PURCHASE_BONUS, points=5),
        Rule(3, engine.BASKET_BONUS, points=5),
        Rule(4, engine.QUANTITY_BONUS, points=5),
        Rule(5, engine.EVENT_POINTS, points=5, event_type="review"),
    )
    capped = Campaign(1, "Capped", rules, member_cap=10)
    spent = Campaign(2, "Spent", (Rule(6, engine.MULTIPLIER, multiplier=Decimal(2)),), budget_left=0)
    member = MemberFacts(tier_id=1, tier_name="Gold", tier_multiplier=Decimal(2), first_purchase=True)
    at = datetime(2026, 6, 6, tzinfo=UTC)
    lines = (Line("A", "x", Decimal(1), Decimal(100)), Line("B", "x", Decimal(1), Decimal(100)))
    purchase = engine.evaluate_purchase(
        Basket(lines=lines, occurred_at=at),
        program=program,
        member=member,
        campaigns=(Campaign(3, "Free", rules), capped, spent),
    )
    event = engine.evaluate_event(
        "review", 5, occurred_at=at, partner_id=None, program=program, member=member, campaigns=(capped,)
    )

    written = {a.reason for a in purchase.awards + event.awards} | {n.reason for n in purchase.notes + event.notes}

    assert written == set(REASONS)
    for reason in written:
        assert reason_label(reason, {"campaign": "C", "points": 1}) != reason


def test_golden_breakdown_reads_as_the_issue_says():
    # 120 paid at 1 point per unit, a x2 weekend campaign, a Gold member (x1.2).
    weekend = Campaign(
        1, "Double points weekend", (Rule(1, engine.MULTIPLIER, multiplier=Decimal(2)),), weekdays=frozenset({5, 6})
    )
    gold = MemberFacts(tier_id=3, tier_name="Gold", tier_multiplier=Decimal("1.2"))
    result = engine.evaluate_purchase(
        Basket(lines=(Line("A", "food", Decimal(1), Decimal(120)),), occurred_at=datetime(2026, 6, 6, 10, tzinfo=UTC)),
        program=Program(points_per_unit=Decimal(1), time_zone="Europe/Paris"),
        member=gold,
        campaigns=(weekend,),
    )

    with translation.override("en"):
        labels = [reason_label(row.reason, {**row.params, "points": row.points}) for row in result.breakdown()]

    assert ", ".join(labels) == "Base: 120, Double points weekend: 120, Gold multiplier: 24"
