"""The earning engine, table by table: what a basket or an event earns, line by line, exactly.

The engine is pure: no database, no settings. Money is written as strings ("12.99") and becomes
``Decimal``; ``Europe/Paris`` is the program's time zone unless a case says otherwise. 5 June
2026 is a Friday, 6 June a Saturday.
"""

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns import engine
from campaigns.engine import (
    BASE,
    BASKET_BONUS,
    CAMPAIGN,
    EVENT_POINTS,
    FIRST_PURCHASE_BONUS,
    MULTIPLIER,
    PER_DAY,
    QUANTITY_BONUS,
    TIER,
    Award,
    Basket,
    Campaign,
    Line,
    MemberFacts,
    Note,
    Program,
    RateOverride,
    Rule,
    apportion,
    campaign_applies,
    evaluate_event,
    evaluate_purchase,
)

PARIS = ZoneInfo("Europe/Paris")
AUCKLAND = ZoneInfo("Pacific/Auckland")
SATURDAY_NOON = datetime(2026, 6, 6, 10, tzinfo=UTC)  # 12:00 in Paris
PROGRAM = Program(points_per_unit=Decimal(1), time_zone="Europe/Paris")
NOBODY = MemberFacts()
GOLD = MemberFacts(tier_id=3, tier_name="Gold", tier_multiplier=Decimal("1.2"), joined_on=date(2025, 1, 1))


def D(value) -> Decimal:
    return Decimal(str(value))


def line(price="10", *, sku="A", category="food", quantity="1", discount="0") -> Line:
    return Line(sku=sku, category=category, quantity=D(quantity), unit_price=D(price), discount=D(discount))


def basket(*lines: Line, at=SATURDAY_NOON, partner_id=None, channel="", discount="0", points_amount="0") -> Basket:
    return Basket(
        lines=lines,
        occurred_at=at,
        partner_id=partner_id,
        channel=channel,
        discount=D(discount),
        points_amount=D(points_amount),
    )


def rule(rule_id=1, kind=MULTIPLIER, **fields) -> Rule:
    for name in ("multiplier", "min_amount", "min_quantity"):
        if name in fields:
            fields[name] = D(fields[name])
    for name in ("skus", "categories"):
        if name in fields:
            fields[name] = frozenset(fields[name])
    return Rule(id=rule_id, kind=kind, **fields)


def campaign(campaign_id=1, *rules: Rule, name=None, **fields) -> Campaign:
    for name_ in ("weekdays", "tier_ids", "partner_ids", "channels"):
        if name_ in fields:
            fields[name_] = frozenset(fields[name_])
    return Campaign(id=campaign_id, name=name or f"Campaign {campaign_id}", rules=rules, **fields)


def evaluate(the_basket, *campaigns, member=NOBODY, program=PROGRAM):
    return evaluate_purchase(the_basket, program=program, member=member, campaigns=campaigns)


def points(result, source=None, rule_id=None) -> list[int]:
    """Points per line of the awards of ``source`` (and ``rule_id``), as a list over the basket's lines."""
    per_line = [0] * len(result.paid_amounts)
    for award in result.awards:
        if (source is None or award.source == source) and (rule_id is None or award.rule_id == rule_id):
            per_line[award.line] += award.points
    return per_line


def rows(result) -> list[tuple]:
    return [(a.source, a.rule_id, a.line, a.points) for a in result.awards]


# --- apportion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "shares"),
    [
        pytest.param(10, ["3.4", "3.3", "3.3"], [4, 3, 3], id="largest-remainder-gets-the-unit-left"),
        pytest.param(10, ["3.3", "3.4", "3.3"], [3, 4, 3], id="wherever-it-is"),
        pytest.param(1, ["1", "1"], [1, 0], id="tie-to-the-earlier"),
        pytest.param(2, ["1", "1", "1"], [1, 1, 0], id="ties-in-line-order"),
        pytest.param(100, ["1", "1", "1"], [34, 33, 33], id="thirds"),
        pytest.param(3, ["0", "1", "2"], [0, 1, 2], id="zero-weight-gets-nothing"),
        pytest.param(5, ["-4", "1", "1"], [0, 3, 2], id="negative-weight-gets-nothing"),
        pytest.param(0, ["1", "2"], [0, 0], id="nothing-to-share"),
        pytest.param(7, ["0.001"], [7], id="one-weight-takes-all"),
        pytest.param(1000, ["0.01", "999.99"], [0, 1000], id="quota-below-one"),
        pytest.param(800, ["25.48", "25.48", "25.48", "25.48", "25.48"], [160] * 5, id="equal-cents"),
    ],
)
def test_apportion_shares_by_largest_remainder(total, weights, shares):
    assert apportion(total, [D(w) for w in weights]) == shares


@pytest.mark.parametrize(
    ("total", "weights"),
    [pytest.param(-1, ["1"], id="negative-total"), pytest.param(1, ["0", "-1"], id="no-positive-weight")],
)
def test_apportion_refuses_what_cannot_be_shared(total, weights):
    with pytest.raises(ValueError, match="share"):
        apportion(total, [D(w) for w in weights])


# --- Base and its rounding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "lines", "expected"),
    [
        pytest.param("1", [line("12.99")], [12], id="12.99-at-1-is-12"),
        pytest.param("1", [line("3.40"), line("3.30"), line("3.30")], [4, 3, 3], id="3.4-3.3-3.3-is-10-shared-4-3-3"),
        pytest.param("1", [line("0.60"), line("0.60")], [1, 0], id="floor-of-the-sum-not-sum-of-floors"),
        pytest.param("1", [line("0.99", quantity="3")], [2], id="quantity-times-price"),
        pytest.param("1.5", [line("9.99")], [14], id="1.5-per-unit-on-9.99-is-14"),
        pytest.param("0.1", [line("25")], [2], id="one-point-per-ten"),
        pytest.param("0.1", [line("9.99")], [0], id="below-one-point-earns-nothing"),
        pytest.param("2", [line("0.50", quantity="0.5")], [0], id="half-a-point-is-nothing"),
        pytest.param("1", [line("5.50"), line("5.50"), line("5.50")], [6, 5, 5], id="16.5-is-16-ties-to-the-first"),
    ],
)
def test_base_is_the_sum_rounded_down_shared_by_largest_remainder(rate, lines, expected):
    program = Program(points_per_unit=D(rate), time_zone="Europe/Paris")

    result = evaluate(basket(*lines), program=program)

    assert points(result, BASE) == expected
    assert result.points == sum(expected)
    assert all(award.params == {"rate": rate} and award.reason == "base" for award in result.awards)


def test_base_awards_name_their_line_and_omit_zeros():
    result = evaluate(basket(line("10"), line("0.40"), line("5")))

    assert rows(result) == [(BASE, None, 0, 10), (BASE, None, 2, 5)]


SHOP, OTHER_SHOP = 7, 8
OVERRIDES = (
    RateOverride(id=1, points_per_unit=D(2), category="wine"),
    RateOverride(id=2, points_per_unit=D(3), sku="W1"),
    RateOverride(id=3, points_per_unit=D(5), partner_id=SHOP),
    RateOverride(id=4, points_per_unit=D(7), category="wine", partner_id=SHOP),
    RateOverride(id=5, points_per_unit=D(11), sku="W1", partner_id=OTHER_SHOP),
    RateOverride(id=7, points_per_unit=D(13), sku="T1"),
    RateOverride(id=6, points_per_unit=D(17), sku="T1"),
    RateOverride(id=8, points_per_unit=D(0), category="tobacco"),
)


@pytest.mark.parametrize(
    ("sku", "category", "partner_id", "rate", "override_id"),
    [
        pytest.param("X", "food", None, "1", None, id="no-override-program-rate"),
        pytest.param("X", "wine", None, "2", 1, id="category"),
        pytest.param("W1", "wine", None, "3", 2, id="sku-beats-category"),
        pytest.param("X", "food", SHOP, "5", 3, id="partner"),
        pytest.param("X", "wine", SHOP, "7", 4, id="category-and-partner-beat-category"),
        pytest.param("W1", "wine", SHOP, "3", 2, id="sku-alone-beats-category-and-partner"),
        pytest.param("W1", "wine", OTHER_SHOP, "11", 5, id="sku-and-partner-beat-sku"),
        pytest.param("X", "food", OTHER_SHOP, "1", None, id="another-partner-s-override-does-not-apply"),
        pytest.param("T1", "food", None, "17", 6, id="tie-to-the-lower-id"),
        pytest.param("Y", "tobacco", None, "0", 8, id="a-zero-rate-earns-nothing"),
    ],
)
def test_rate_overrides_by_specificity(sku, category, partner_id, rate, override_id):
    program = Program(points_per_unit=D(1), time_zone="Europe/Paris", overrides=OVERRIDES)

    result = evaluate(basket(line("10", sku=sku, category=category), partner_id=partner_id), program=program)

    assert points(result, BASE) == [10 * int(rate)]
    if override_id is None:
        assert [(a.reason, a.params) for a in result.awards] == [("base", {"rate": rate})]
    elif rate != "0":
        assert [(a.reason, a.params) for a in result.awards] == [
            ("rate_override", {"rate": rate, "override": override_id})
        ]


def test_each_line_takes_its_own_rate():
    program = Program(points_per_unit=D(1), time_zone="Europe/Paris", overrides=OVERRIDES)

    result = evaluate(basket(line("10"), line("10", category="wine"), line("10", sku="W1")), program=program)

    assert points(result, BASE) == [10, 20, 30]


# --- What was paid ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "discount", "points_amount", "paid", "base"),
    [
        pytest.param([line("20", discount="5")], "0", "0", ["15"], [15], id="line-discount"),
        pytest.param(
            [line("10"), line("10"), line("10")], "10", "0", ["6.66", "6.67", "6.67"], [6, 7, 7], id="basket-discount"
        ),
        pytest.param([line("30"), line("10")], "0", "8", ["24", "8"], [24, 8], id="points-paid-share-in-proportion"),
        pytest.param([line("30"), line("10")], "2", "2", ["27", "9"], [27, 9], id="discount-and-points-together"),
        pytest.param(
            [line("10", discount="10"), line("10")], "0", "0", ["0", "10"], [0, 10], id="line-fully-discounted"
        ),
        pytest.param(
            [line("5", discount="8"), line("10")],
            "1",
            "0",
            ["-3", "9"],
            [0, 9],
            id="over-discounted-line-takes-no-share",
        ),
        pytest.param([line("10")], "10", "0", ["0"], [0], id="basket-fully-discounted"),
        pytest.param([line("10")], "0.005", "0", ["9.995"], [9], id="finer-than-cents"),
    ],
)
def test_discounts_and_points_paid_earn_nothing(lines, discount, points_amount, paid, base):
    result = evaluate(basket(*lines, discount=discount, points_amount=points_amount))

    assert result.paid_amounts == tuple(D(p) for p in paid)
    assert points(result, BASE) == base


def test_a_negative_basket_discount_is_refused():
    with pytest.raises(ValueError, match="negative"):
        evaluate(basket(line("10"), discount="-1"))


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        evaluate(basket(line("10"), at=datetime(2026, 6, 6, 12)))  # noqa: DTZ001


# --- Each rule kind ---------------------------------------------------------------------------

THREE_LINES = (
    line("10", sku="A", category="food"),
    line("20", sku="B", category="wine"),
    line("30", sku="C", category="home"),
)


@pytest.mark.parametrize(
    ("the_rule", "member", "expected"),
    [
        pytest.param(rule(multiplier="2"), NOBODY, [10, 20, 30], id="x2-whole-basket"),
        pytest.param(rule(multiplier="3"), NOBODY, [20, 40, 60], id="x3-whole-basket"),
        pytest.param(rule(multiplier="2", skus={"B"}), NOBODY, [0, 20, 0], id="x2-on-a-sku"),
        pytest.param(rule(multiplier="2", categories={"food"}), NOBODY, [10, 0, 0], id="x2-on-a-category"),
        pytest.param(
            rule(multiplier="2", skus={"B"}, categories={"food"}), NOBODY, [10, 20, 0], id="sku-or-category"
        ),
        pytest.param(rule(multiplier="2", skus={"Z"}), NOBODY, [0, 0, 0], id="x2-on-a-sku-not-bought"),
        pytest.param(rule(multiplier="1.25"), NOBODY, [3, 5, 7], id="x1.25-extra-15-shared"),
        pytest.param(rule(multiplier="1"), NOBODY, [0, 0, 0], id="x1-adds-nothing"),
        pytest.param(rule(multiplier="0.5"), NOBODY, [0, 0, 0], id="below-x1-never-takes-points"),
        pytest.param(rule(kind=FIRST_PURCHASE_BONUS, points=60), MemberFacts(first_purchase=True), [10, 20, 30],
                     id="first-purchase-bonus-shared-by-paid"),
        pytest.param(rule(kind=FIRST_PURCHASE_BONUS, points=60), NOBODY, [0, 0, 0], id="not-a-first-purchase"),
        pytest.param(rule(kind=BASKET_BONUS, points=100, min_amount="60"), NOBODY, [17, 33, 50],
                     id="basket-bonus-at-its-minimum"),
        pytest.param(rule(kind=BASKET_BONUS, points=100, min_amount="60.01"), NOBODY, [0, 0, 0],
                     id="basket-bonus-a-cent-short"),
        pytest.param(rule(kind=BASKET_BONUS, points=10, min_amount="30", categories={"food", "wine"}), NOBODY,
                     [3, 7, 0], id="basket-bonus-on-its-lines"),
        pytest.param(rule(kind=BASKET_BONUS, points=10, min_amount="31", categories={"food", "wine"}), NOBODY,
                     [0, 0, 0], id="basket-bonus-its-lines-short"),
        pytest.param(rule(kind=QUANTITY_BONUS, points=25, min_quantity="3"), NOBODY, [4, 8, 13],
                     id="quantity-bonus-at-its-minimum"),
        pytest.param(rule(kind=QUANTITY_BONUS, points=25, min_quantity="2", skus={"A"}), NOBODY, [0, 0, 0],
                     id="quantity-bonus-short-of-its-sku"),
        pytest.param(rule(kind=QUANTITY_BONUS, points=5, min_quantity="1", skus={"A"}), NOBODY, [5, 0, 0],
                     id="quantity-bonus-on-its-sku"),
        pytest.param(rule(kind=BASKET_BONUS, points=0), NOBODY, [0, 0, 0], id="a-bonus-of-zero"),
        pytest.param(rule(kind=EVENT_POINTS, points=50, event_type="review"), NOBODY, [0, 0, 0],
                     id="event-rules-ignore-purchases"),
    ],
)  # fmt: skip
def test_each_rule_kind(the_rule, member, expected):
    result = evaluate(basket(*THREE_LINES), campaign(1, the_rule), member=member)

    assert points(result, BASE) == [10, 20, 30]
    assert points(result, CAMPAIGN) == expected
    assert all(award.reason == the_rule.kind for award in result.awards if award.source == CAMPAIGN)


def test_campaign_awards_say_their_rule_campaign_and_parameters():
    rules = (
        rule(1, multiplier="2", skus={"A"}),
        rule(2, BASKET_BONUS, points=10, min_amount="50"),
        rule(3, QUANTITY_BONUS, points=3, min_quantity="2", categories={"wine", "food"}),
        rule(4, FIRST_PURCHASE_BONUS, points=1, skus={"C"}),
    )
    result = evaluate(
        basket(*THREE_LINES), campaign(9, *rules, name="Summer"), member=MemberFacts(first_purchase=True)
    )

    assert [(a.rule_id, a.campaign_id, a.line, a.points, a.reason, a.params) for a in result.awards[3:]] == [
        (1, 9, 0, 10, "multiplier", {"factor": "2", "campaign": "Summer"}),
        (2, 9, 0, 2, "basket_bonus", {"campaign": "Summer", "min_amount": "50"}),
        (2, 9, 1, 3, "basket_bonus", {"campaign": "Summer", "min_amount": "50"}),
        (2, 9, 2, 5, "basket_bonus", {"campaign": "Summer", "min_amount": "50"}),
        (3, 9, 0, 1, "quantity_bonus", {"campaign": "Summer", "min_quantity": "2"}),
        (3, 9, 1, 2, "quantity_bonus", {"campaign": "Summer", "min_quantity": "2"}),
        (4, 9, 2, 1, "first_purchase_bonus", {"campaign": "Summer"}),
    ]


def test_a_multiplier_counts_on_the_exact_base_of_its_lines():
    # Exact base 12.99 + 12.99 = 25.98 -> 25; a x2 adds floor(25.98) = 25, shared 13/12.
    result = evaluate(basket(line("12.99"), line("12.99")), campaign(1, rule(multiplier="2")))

    assert points(result, BASE) == [13, 12]
    assert points(result, CAMPAIGN) == [13, 12]


def test_a_fully_discounted_line_takes_no_part_in_rules():
    lines = (line("10", discount="10", sku="A"), line("10", sku="A"))
    rules = (rule(1, QUANTITY_BONUS, points=50, min_quantity="2", skus={"A"}), rule(2, multiplier="2"))

    result = evaluate(basket(*lines), campaign(1, *rules))

    assert points(result) == [0, 20]
    assert [a.rule_id for a in result.awards] == [None, 2]


# --- Stacking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param(
            [rule(1, multiplier="2"), rule(2, multiplier="3")], {1: [10, 20, 30], 2: [20, 40, 60]},
            id="combinable-multipliers-add",
        ),
        pytest.param(
            [rule(1, multiplier="2", exclusive=True), rule(2, multiplier="3")], {1: [10, 20, 30], 2: [0, 0, 0]},
            id="exclusive-closes-its-lines",
        ),
        pytest.param(
            [rule(1, multiplier="2", skus={"A"}, exclusive=True), rule(2, multiplier="3")],
            {1: [10, 0, 0], 2: [0, 40, 60]},
            id="exclusive-on-a-sku-closes-that-line-only",
        ),
        pytest.param(
            [rule(1, multiplier="2", exclusive=True), rule(2, multiplier="3", priority=1, exclusive=True)],
            {1: [0, 0, 0], 2: [20, 40, 60]},
            id="higher-priority-first-whatever-its-id",
        ),
        pytest.param(
            [rule(2, multiplier="2", exclusive=True), rule(1, multiplier="3", exclusive=True)],
            {1: [20, 40, 60], 2: [0, 0, 0]},
            id="equal-priority-lower-id-first",
        ),
        pytest.param(
            [
                rule(1, BASKET_BONUS, points=6, min_amount="10", categories={"food"}, exclusive=True),
                rule(2, multiplier="2"),
            ],
            {1: [6, 0, 0], 2: [0, 0, 0]},
            id="exclusive-basket-bonus-closes-the-whole-basket",
        ),
        pytest.param(
            [rule(1, BASKET_BONUS, points=6, min_amount="100", exclusive=True), rule(2, multiplier="2")],
            {1: [0, 0, 0], 2: [10, 20, 30]},
            id="an-exclusive-rule-that-does-not-apply-closes-nothing",
        ),
        pytest.param(
            [
                rule(1, multiplier="2", skus={"A"}, exclusive=True, priority=2),
                rule(2, QUANTITY_BONUS, points=9, min_quantity="1", skus={"A"}, exclusive=True, priority=1),
                rule(3, multiplier="3"),
            ],
            {1: [10, 0, 0], 2: [0, 0, 0], 3: [0, 40, 60]},
            id="a-rule-whose-lines-are-all-closed-does-not-apply-nor-close",
        ),
        pytest.param(
            [rule(1, multiplier="2", exclusive=True), rule(2, FIRST_PURCHASE_BONUS, points=5)],
            {1: [10, 20, 30], 2: [0, 0, 0]},
            id="exclusive-multiplier-closes-the-bonus-out",
        ),
    ],
)  # fmt: skip
def test_stacking_and_exclusivity(rules, expected):
    result = evaluate(basket(*THREE_LINES), campaign(1, *rules), member=MemberFacts(first_purchase=True))

    assert {rule_id: points(result, CAMPAIGN, rule_id) for rule_id in expected} == expected


def test_rules_stack_across_campaigns_in_priority_order():
    weekend = campaign(1, rule(10, multiplier="2", exclusive=True), name="Weekend")
    wine = campaign(2, rule(5, multiplier="3", categories={"wine"}, priority=1, exclusive=True), name="Wine")

    result = evaluate(basket(*THREE_LINES), weekend, wine)

    assert [(a.campaign_id, a.line, a.points) for a in result.awards if a.source == CAMPAIGN] == [
        (2, 1, 40),
        (1, 0, 10),
        (1, 2, 30),
    ]


def test_the_result_does_not_depend_on_the_order_of_the_campaigns():
    campaigns = (
        campaign(1, rule(3, multiplier="2", exclusive=True), member_cap=25),  # 40 on A and C, cut to 25
        campaign(2, rule(1, QUANTITY_BONUS, points=7, min_quantity="1", skus={"B"}, exclusive=True)),
        campaign(3, rule(2, BASKET_BONUS, points=4, min_amount="1"), budget_left=3),
    )

    forwards = evaluate(basket(*THREE_LINES), *campaigns)
    backwards = evaluate(basket(*THREE_LINES), *reversed(campaigns))

    assert forwards == backwards
    assert [(a.rule_id, a.line, a.points) for a in forwards.awards if a.source == CAMPAIGN] == [
        (1, 1, 7),  # B is closed to the rules after
        (2, 0, 1),
        (2, 2, 2),  # 4 points shared 1/3 over A and C, cut by one to the budget left
        (3, 0, 10),
        (3, 2, 15),
    ]


# --- Tier multiplier --------------------------------------------------------------------------


def test_the_tier_multiplies_the_base_only_and_is_not_capped():
    capped_to_nothing = campaign(1, rule(multiplier="3"), member_cap=0)

    result = evaluate(basket(*THREE_LINES), capped_to_nothing, member=GOLD)

    assert points(result, BASE) == [10, 20, 30]
    assert points(result, CAMPAIGN) == [0, 0, 0]
    assert points(result, TIER) == [2, 4, 6]
    assert {a.params["tier"] for a in result.awards if a.source == TIER} == {"Gold"}
    assert result.notes == (Note(1, "member_cap", 120, {"campaign": "Campaign 1", "cap": 0, "period": "campaign"}),)


@pytest.mark.parametrize(
    ("factor", "lines", "expected"),
    [
        pytest.param("1.2", [line("12.99")], [2], id="x1.2-on-12.99-is-floor-2.598"),
        pytest.param("1.5", [line("3"), line("3"), line("3")], [2, 1, 1], id="x1.5-extra-4.5-is-4-shared"),
        pytest.param("1", [line("100")], [0], id="x1-no-tier-award"),
        pytest.param("2", [line("10", discount="10")], [0], id="nothing-paid-nothing-multiplied"),
    ],
)
def test_tier_multiplier_rounding(factor, lines, expected):
    member = MemberFacts(tier_id=1, tier_name="Silver", tier_multiplier=D(factor))

    result = evaluate(basket(*lines), member=member)

    assert points(result, TIER) == expected
    assert all(a.params == {"tier": "Silver", "factor": factor} for a in result.awards if a.source == TIER)


def test_golden_breakdown_base_double_points_weekend_gold_multiplier():
    weekend = campaign(1, rule(1, multiplier="2"), name="Double points weekend", weekdays={5, 6})

    result = evaluate(basket(line("120")), weekend, member=GOLD)

    assert [(a.source, a.reason, a.points, a.params) for a in result.awards] == [
        (BASE, "base", 120, {"rate": "1"}),
        (CAMPAIGN, "multiplier", 120, {"factor": "2", "campaign": "Double points weekend"}),
        (TIER, "tier_multiplier", 24, {"tier": "Gold", "factor": "1.2"}),
    ]
    assert result.points == 264


# --- Caps and budgets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "expected", "notes"),
    [
        pytest.param({}, {1: [10, 20, 30], 2: [3, 7, 10]}, [], id="no-cap-no-budget"),
        pytest.param(
            {"member_cap": 100, "member_cap_used": 30},
            {1: [10, 20, 30], 2: [3, 7, 0]},
            [("member_cap", 10)],
            id="cap-cuts-the-last-rule-from-its-last-line",
        ),
        pytest.param(
            {"member_cap": 100, "member_cap_used": 60},
            {1: [10, 20, 10], 2: [0, 0, 0]},
            [("member_cap", 40)],
            id="cap-cut-runs-into-the-earlier-rule",
        ),
        pytest.param(
            {"member_cap": 80, "member_cap_used": 80},
            {1: [0, 0, 0], 2: [0, 0, 0]},
            [("member_cap", 80)],
            id="cap-reached",
        ),
        pytest.param(
            {"member_cap": 80, "member_cap_used": 95},
            {1: [0, 0, 0], 2: [0, 0, 0]},
            [("member_cap", 80)],
            id="cap-overused-counts-as-none-left",
        ),
        pytest.param(
            {"member_cap": 80, "member_cap_used": 0},
            {1: [10, 20, 30], 2: [3, 7, 10]},
            [],
            id="cap-exactly-enough",
        ),
        pytest.param(
            {"budget_left": 75}, {1: [10, 20, 30], 2: [3, 7, 5]}, [("budget_spent", 5)], id="budget-partial-cut"
        ),
        pytest.param({"budget_left": 0}, {1: [0, 0, 0], 2: [0, 0, 0]}, [("budget_spent", 80)], id="budget-zero-left"),
        pytest.param(
            {"budget_left": -5}, {1: [0, 0, 0], 2: [0, 0, 0]}, [("budget_spent", 80)], id="budget-overspent-is-zero"
        ),
        pytest.param(
            {"member_cap": 70, "budget_left": 50},
            {1: [10, 20, 20], 2: [0, 0, 0]},
            [("member_cap", 10), ("budget_spent", 20)],
            id="cap-then-budget",
        ),
        pytest.param(
            {"member_cap": 70, "budget_left": 75},
            {1: [10, 20, 30], 2: [3, 7, 0]},
            [("member_cap", 10)],
            id="budget-not-reached-after-cap",
        ),
    ],
)
def test_caps_and_budgets_cut_the_last_points_first(limits, expected, notes):
    rules = (rule(1, multiplier="2"), rule(2, BASKET_BONUS, points=20, min_amount="1"))

    result = evaluate(basket(*THREE_LINES), campaign(1, *rules, **limits))

    assert {rule_id: points(result, CAMPAIGN, rule_id) for rule_id in expected} == expected
    assert [(note.reason, note.points_cut) for note in result.notes] == notes
    assert all(award.points > 0 for award in result.awards)


def test_caps_are_per_campaign_and_say_their_period():
    capped = campaign(1, rule(1, multiplier="2"), member_cap=15, cap_period=PER_DAY, member_cap_used=5, name="Daily")
    free = campaign(2, rule(2, multiplier="2"), name="Free")

    result = evaluate(basket(*THREE_LINES), capped, free)

    assert result.campaign_points() == {1: 10, 2: 60}
    assert points(result, CAMPAIGN, 1) == [10, 0, 0]
    assert result.notes == (Note(1, "member_cap", 50, {"campaign": "Daily", "cap": 15, "period": "day"}),)


def test_a_capped_exclusive_rule_still_closes_its_lines():
    # Caps come after the rules (step 4): the exclusive campaign won the lines, then its cap cut it.
    exclusive = campaign(1, rule(1, multiplier="2", exclusive=True, priority=1), member_cap=0)
    later = campaign(2, rule(2, multiplier="3"))

    result = evaluate(basket(*THREE_LINES), exclusive, later)

    assert points(result, CAMPAIGN) == [0, 0, 0]
    assert [(note.campaign_id, note.reason, note.points_cut) for note in result.notes] == [(1, "member_cap", 60)]


# --- When and to whom a campaign applies ------------------------------------------------------


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def applies(at, *, partner_id=None, channel="", member=NOBODY, zone="Europe/Paris", **fields) -> bool:
    return campaign_applies(
        campaign(1, rule(), **fields),
        occurred_at=at,
        partner_id=partner_id,
        channel=channel,
        member=member,
        program=Program(points_per_unit=D(1), time_zone=zone),
    )


JUNE = {"starts_at": paris(2026, 6, 1), "ends_at": paris(2026, 7, 1)}
NINE_TO_FIVE = {"start_time": time(9), "end_time": time(17)}
FRIDAY_NIGHT = {"weekdays": {4}, "start_time": time(22), "end_time": time(2)}


@pytest.mark.parametrize(
    ("fields", "at", "expected"),
    [
        pytest.param(JUNE, paris(2026, 6, 1), True, id="start-included"),
        pytest.param(JUNE, paris(2026, 5, 31, 23, 59, 59, 999999), False, id="a-microsecond-before-the-start"),
        pytest.param(JUNE, paris(2026, 6, 30, 23, 59, 59), True, id="last-second"),
        pytest.param(JUNE, paris(2026, 7, 1), False, id="end-excluded"),
        pytest.param(JUNE, datetime(2026, 5, 31, 22, tzinfo=UTC), True, id="start-compared-as-a-moment-not-a-clock"),
        pytest.param({"starts_at": paris(2026, 6, 1)}, paris(2030, 1, 1), True, id="no-end"),
        pytest.param({"ends_at": paris(2026, 6, 1)}, paris(2020, 1, 1), True, id="no-start"),
        pytest.param({"weekdays": {5, 6}}, datetime(2026, 6, 5, 21, 59, tzinfo=UTC), False, id="friday-23:59-paris"),
        pytest.param({"weekdays": {5, 6}}, datetime(2026, 6, 5, 22, tzinfo=UTC), True, id="saturday-00:00-paris"),
        pytest.param({"weekdays": {5, 6}}, datetime(2026, 6, 7, 21, 59, tzinfo=UTC), True, id="sunday-23:59-paris"),
        pytest.param({"weekdays": {5, 6}}, datetime(2026, 6, 7, 22, tzinfo=UTC), False, id="monday-00:00-paris"),
        pytest.param(NINE_TO_FIVE, paris(2026, 6, 3, 9), True, id="start-time-included"),
        pytest.param(NINE_TO_FIVE, paris(2026, 6, 3, 8, 59, 59), False, id="before-the-start-time"),
        pytest.param(NINE_TO_FIVE, paris(2026, 6, 3, 16, 59, 59), True, id="before-the-end-time"),
        pytest.param(NINE_TO_FIVE, paris(2026, 6, 3, 17), False, id="end-time-excluded"),
        pytest.param({"start_time": time(18)}, paris(2026, 6, 3, 23, 59), True, id="only-a-start-time"),
        pytest.param({"start_time": time(18)}, paris(2026, 6, 3, 17, 59), False, id="only-a-start-time-before"),
        pytest.param({"end_time": time(10)}, paris(2026, 6, 3, 0, 0), True, id="only-an-end-time"),
        pytest.param({"end_time": time(10)}, paris(2026, 6, 3, 10), False, id="only-an-end-time-after"),
        pytest.param({"start_time": time(9), "end_time": time(9)}, paris(2026, 6, 3, 9), False, id="empty-hours"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 5, 21, 59), False, id="night-friday-21:59"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 5, 22), True, id="night-friday-22:00"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 5, 23, 59), True, id="night-friday-23:59"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 6, 0, 0), True, id="night-saturday-00:00-is-friday-s-night"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 6, 1, 59), True, id="night-saturday-01:59"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 6, 2, 0), False, id="night-saturday-02:00-end-excluded"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 5, 1, 0), False, id="night-friday-01:00-is-thursday-s-night"),
        pytest.param(FRIDAY_NIGHT, paris(2026, 6, 6, 22, 30), False, id="night-saturday-22:30-not-a-friday"),
    ],
)
def test_window_edges_in_paris(fields, at, expected):
    assert applies(at, **fields) is expected


@pytest.mark.parametrize(
    ("fields", "at", "expected"),
    [
        # Summer time starts in Paris on 29 March 2026 at 01:00 UTC (02:00 becomes 03:00).
        pytest.param(NINE_TO_FIVE, datetime(2026, 3, 28, 8, tzinfo=UTC), True, id="winter-08:00-utc-is-09:00"),
        pytest.param(NINE_TO_FIVE, datetime(2026, 3, 29, 7, 59, tzinfo=UTC), True, id="summer-07:59-utc-is-09:59"),
        pytest.param(NINE_TO_FIVE, datetime(2026, 3, 29, 6, 59, tzinfo=UTC), False, id="summer-06:59-utc-is-08:59"),
        pytest.param(NINE_TO_FIVE, datetime(2026, 3, 29, 15, tzinfo=UTC), False, id="summer-15:00-utc-is-17:00"),
        pytest.param(
            {"start_time": time(3), "end_time": time(4)}, datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), False,
            id="spring-01:59:59-just-before-the-change",
        ),
        pytest.param(
            {"start_time": time(3), "end_time": time(4)}, datetime(2026, 3, 29, 1, tzinfo=UTC), True,
            id="spring-03:00-just-after-the-change",
        ),
        # Summer time ends on 25 October 2026 at 01:00 UTC: 02:30 happens twice.
        pytest.param(
            {"start_time": time(2), "end_time": time(3)}, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True,
            id="autumn-first-02:30",
        ),
        pytest.param(
            {"start_time": time(2), "end_time": time(3)}, datetime(2026, 10, 25, 1, 30, tzinfo=UTC), True,
            id="autumn-second-02:30",
        ),
        pytest.param(
            {"start_time": time(2), "end_time": time(3)}, datetime(2026, 10, 25, 2, tzinfo=UTC), False,
            id="autumn-03:00-after-the-second-hour",
        ),
        pytest.param(
            {"weekdays": {6}}, datetime(2026, 10, 25, 22, 59, tzinfo=UTC), True, id="autumn-sunday-23:59-winter-time"
        ),
        pytest.param({"weekdays": {6}}, datetime(2026, 10, 25, 23, tzinfo=UTC), False, id="autumn-monday-00:00"),
    ],
)  # fmt: skip
def test_window_across_daylight_saving_in_paris(fields, at, expected):
    assert applies(at, **fields) is expected


@pytest.mark.parametrize(
    ("fields", "at", "expected"),
    [
        # Auckland is UTC+13 in December: Saturday begins there at 11:00 UTC on Friday.
        pytest.param({"weekdays": {5}}, datetime(2026, 12, 4, 10, 59, tzinfo=UTC), False, id="friday-23:59-auckland"),
        pytest.param({"weekdays": {5}}, datetime(2026, 12, 4, 11, tzinfo=UTC), True, id="saturday-00:00-auckland"),
        pytest.param(NINE_TO_FIVE, datetime(2026, 12, 4, 20, tzinfo=UTC), True, id="09:00-auckland-is-20:00-utc"),
        pytest.param(NINE_TO_FIVE, datetime(2026, 12, 4, 19, 59, tzinfo=UTC), False, id="08:59-auckland"),
        pytest.param(NINE_TO_FIVE, datetime(2026, 6, 4, 21, tzinfo=UTC), True, id="winter-+12-09:00-auckland"),
        pytest.param(
            {"starts_at": datetime(2026, 12, 5, tzinfo=AUCKLAND)}, datetime(2026, 12, 4, 11, tzinfo=UTC), True,
            id="start-at-auckland-midnight",
        ),
        pytest.param(
            {"starts_at": datetime(2026, 12, 5, tzinfo=AUCKLAND)}, datetime(2026, 12, 4, 10, 59, tzinfo=UTC), False,
            id="before-auckland-midnight",
        ),
    ],
)  # fmt: skip
def test_window_in_a_time_zone_far_from_utc(fields, at, expected):
    assert applies(at, zone="Pacific/Auckland", **fields) is expected


WEDNESDAY = paris(2026, 6, 3, 12)


@pytest.mark.parametrize(
    ("fields", "who", "expected"),
    [
        pytest.param({}, {}, True, id="everyone"),
        pytest.param({"tier_ids": {3}}, {"member": GOLD}, True, id="tier-in"),
        pytest.param({"tier_ids": {1, 2}}, {"member": GOLD}, False, id="tier-out"),
        pytest.param({"tier_ids": {3}}, {}, False, id="no-tier-out"),
        pytest.param({"joined_after": date(2025, 1, 1)}, {"member": GOLD}, True, id="joined-after-included"),
        pytest.param({"joined_after": date(2025, 1, 2)}, {"member": GOLD}, False, id="joined-the-day-before"),
        pytest.param({"joined_before": date(2025, 1, 2)}, {"member": GOLD}, True, id="joined-before-the-day"),
        pytest.param({"joined_before": date(2025, 1, 1)}, {"member": GOLD}, False, id="joined-before-excluded"),
        pytest.param({"joined_after": date(2020, 1, 1)}, {}, False, id="joined-unknown-out"),
        pytest.param({"joined_before": date(2030, 1, 1)}, {}, False, id="joined-unknown-out-before"),
        pytest.param({"member_in_list": True}, {}, True, id="in-the-list"),
        pytest.param({"member_in_list": False}, {}, False, id="not-in-the-list"),
        pytest.param({"member_in_list": None}, {}, True, id="no-list"),
        pytest.param({"partner_ids": {SHOP}}, {"partner_id": SHOP}, True, id="partner-in"),
        pytest.param({"partner_ids": {SHOP}}, {"partner_id": OTHER_SHOP}, False, id="partner-out"),
        pytest.param({"partner_ids": {SHOP}}, {}, False, id="no-partner-out"),
        pytest.param({"channels": {"app"}}, {"channel": "app"}, True, id="channel-in"),
        pytest.param({"channels": {"app"}}, {"channel": "store"}, False, id="channel-out"),
        pytest.param({"channels": {"app"}}, {}, False, id="no-channel-out"),
        pytest.param(
            {"tier_ids": {3}, "partner_ids": {SHOP}, "channels": {"app"}, "joined_after": date(2024, 1, 1)},
            {"member": GOLD, "partner_id": SHOP, "channel": "app"},
            True,
            id="every-filter-in",
        ),
        pytest.param(
            {"tier_ids": {3}, "partner_ids": {SHOP}, "channels": {"app"}},
            {"member": GOLD, "partner_id": SHOP, "channel": "web"},
            False,
            id="one-filter-out",
        ),
    ],
)
def test_audience_partner_and_channel(fields, who, expected):
    assert applies(WEDNESDAY, **fields, **who) is expected


def test_a_campaign_that_does_not_apply_awards_nothing():
    goldish = campaign(1, rule(multiplier="5"), tier_ids={3})

    assert points(evaluate(basket(*THREE_LINES), goldish), CAMPAIGN) == [0, 0, 0]
    assert points(evaluate(basket(*THREE_LINES), goldish, member=GOLD), CAMPAIGN) == [40, 80, 120]


def test_purchases_pass_partner_and_channel_to_the_campaigns():
    app_only = campaign(1, rule(multiplier="2"), channels={"app"}, partner_ids={SHOP})

    assert points(evaluate(basket(line("10"), partner_id=SHOP, channel="app"), app_only), CAMPAIGN) == [10]
    assert points(evaluate(basket(line("10"), partner_id=SHOP, channel="web"), app_only), CAMPAIGN) == [0]


# --- Events -----------------------------------------------------------------------------------


def event(event_type="review", base_points=50, *campaigns, at=WEDNESDAY, member=GOLD, **kwargs):
    return evaluate_event(
        event_type, base_points, occurred_at=at, partner_id=kwargs.pop("partner_id", None), program=PROGRAM,
        member=member, campaigns=campaigns, **kwargs,
    )  # fmt: skip


def test_an_event_earns_its_base_points_without_a_line_or_a_tier_multiplier():
    result = event("review", 50)

    assert result.awards == (Award(BASE, 50, reason="event", params={"type": "review"}),)
    assert result.paid_amounts == ()
    assert result.notes == ()


@pytest.mark.parametrize(
    ("campaigns", "expected"),
    [
        pytest.param([], [], id="no-campaign"),
        pytest.param([campaign(1, rule(1, EVENT_POINTS, points=20, event_type="review"))], [(1, 20)], id="matching"),
        pytest.param([campaign(1, rule(1, EVENT_POINTS, points=20, event_type="survey"))], [], id="another-type"),
        pytest.param([campaign(1, rule(1, EVENT_POINTS, points=20))], [], id="a-rule-with-no-type"),
        pytest.param([campaign(1, rule(1, multiplier="3"))], [], id="purchase-rules-ignore-events"),
        pytest.param(
            [campaign(1, rule(1, EVENT_POINTS, points=20, event_type="review"), tier_ids={9})], [], id="not-applying"
        ),
        pytest.param(
            [
                campaign(1, rule(1, EVENT_POINTS, points=20, event_type="review")),
                campaign(2, rule(2, EVENT_POINTS, points=30, event_type="review")),
            ],
            [(1, 20), (2, 30)],
            id="combinable-add",
        ),
        pytest.param(
            [
                campaign(1, rule(1, EVENT_POINTS, points=20, event_type="review")),
                campaign(2, rule(2, EVENT_POINTS, points=30, event_type="review", exclusive=True, priority=1)),
            ],
            [(2, 30)],
            id="exclusive-first-closes-the-event",
        ),
        pytest.param(
            [
                campaign(1, rule(1, EVENT_POINTS, points=20, event_type="review", exclusive=True)),
                campaign(2, rule(2, EVENT_POINTS, points=30, event_type="survey", exclusive=True)),
            ],
            [(1, 20)],
            id="exclusive-of-another-type-closes-nothing",
        ),
        pytest.param(
            [campaign(1, rule(1, EVENT_POINTS, points=20, event_type="review"), member_cap=30, member_cap_used=15)],
            [(1, 15)],
            id="capped",
        ),
        pytest.param(
            [campaign(1, rule(1, EVENT_POINTS, points=20, event_type="review"), budget_left=0)], [], id="budget-spent"
        ),
    ],
)
def test_event_points_rules(campaigns, expected):
    result = event("review", 50, *campaigns)

    assert result.awards[0] == Award(BASE, 50, reason="event", params={"type": "review"})
    assert [(a.rule_id, a.points) for a in result.awards[1:]] == expected
    assert all(a.line is None and a.source == CAMPAIGN and a.reason == "event_points" for a in result.awards[1:])


def test_event_campaign_awards_and_notes_say_their_campaign():
    capped = campaign(4, rule(1, EVENT_POINTS, points=20, event_type="review"), name="Reviews", budget_left=5)

    result = event("review", 0, capped)

    params = {"campaign": "Reviews", "type": "review"}
    assert result.awards == (Award(CAMPAIGN, 5, rule_id=1, campaign_id=4, reason="event_points", params=params),)
    assert result.notes == (Note(4, "budget_spent", 15, {"campaign": "Reviews"}),)


def test_event_campaigns_see_the_event_s_partner_and_channel():
    app = campaign(
        1, rule(1, EVENT_POINTS, points=20, event_type="app_installed"), channels={"app"}, partner_ids={SHOP}
    )

    assert event("app_installed", 0, app, partner_id=SHOP, channel="app").points == 20
    assert event("app_installed", 0, app, partner_id=SHOP).points == 0
    assert event("app_installed", 0, app, channel="app").points == 0


def test_an_event_at_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        event(at=datetime(2026, 6, 3, 12))  # noqa: DTZ001


# --- The engine's own shortcuts ---------------------------------------------------------------


def test_the_fast_award_is_the_dataclass_award():
    fast = engine._award(CAMPAIGN, 5, 1, 2, 3, "multiplier", {"factor": "2"})
    slow = Award(CAMPAIGN, 5, line=1, rule_id=2, campaign_id=3, reason="multiplier", params={"factor": "2"})

    assert fast == slow
    assert repr(fast) == repr(slow)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.points = 6


def test_an_equal_but_new_program_or_campaign_is_read_afresh():
    # The engine keeps what it derives from the very objects it is given; a new object is new.
    first = Program(points_per_unit=D(1), time_zone="Europe/Paris", overrides=(RateOverride(1, D(2), sku="A"),))
    second = Program(points_per_unit=D(1), time_zone="Europe/Paris", overrides=(RateOverride(1, D(3), sku="A"),))

    assert points(evaluate(basket(line("10")), program=first)) == [20]
    assert points(evaluate(basket(line("10")), program=second)) == [30]
    assert points(evaluate(basket(line("10")), campaign(1, rule(multiplier="2")))) == [20]
    assert points(evaluate(basket(line("10")), campaign(1, rule(multiplier="4")))) == [40]


@pytest.mark.parametrize(
    ("value", "text"),
    [("2", "2"), ("2.00", "2"), ("1.20", "1.2"), ("0.5", "0.5"), ("1E+1", "10"), ("100", "100"), ("0", "0")],
)
def test_numbers_in_parameters_have_no_exponent_nor_trailing_zeros(value, text):
    assert engine.number_text(Decimal(value)) == text


def test_the_base_sum_over_many_lines_is_exact():
    lines = [line("0.01") for _ in range(99)] + [line(str(timedelta(0).days + 0.01))]

    result = evaluate(basket(*lines))

    assert result.points == 1
    assert points(result, BASE)[0] == 1
