"""What a member's tier progress says: the one read behind the portal, the API and the member page."""

from datetime import date
from decimal import Decimal

import pytest

from members.tiers.models import QualificationBasis
from members.tiers.selectors import HeldBecause, tier_progress_get
from tests.factories.tiers import MemberTierFactory, QualifyingDayFactory, policy_set, program_tiers

TODAY = date(2027, 3, 15)  # the 12-month window starts on 2026-03-16


@pytest.fixture
def tiers(db):
    return program_tiers()


def days(member, **points_by_day):
    for day, points in points_by_day.items():
        QualifyingDayFactory(member=member, day=date.fromisoformat(day.lstrip("d").replace("_", "-")), points=points)


def test_a_program_without_tiers_shows_no_tier_and_nothing_to_reach(member):
    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.tier, progress.next_tier, progress.held_because, progress.missing) == (None, None, None, None)
    assert (progress.value, progress.downgrade_on) == (0, None)


def test_a_member_without_activity_needs_the_first_threshold_with_no_deadline(member, tiers):
    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.tier, progress.next_tier, progress.missing, progress.by) == (None, tiers[0], 500, None)


def test_what_is_missing_must_be_earned_before_the_oldest_counted_day_leaves_the_window(member, tiers):
    silver, gold, _ = tiers
    days(member, d2026_04_01=300, d2026_10_01=450)
    MemberTierFactory(member=member, tier=silver, qualified_on=date(2027, 3, 14))

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.value, progress.tier, progress.held_because) == (750, silver, HeldBecause.QUALIFIED)
    assert (progress.next_tier, progress.missing, progress.by) == (gold, 1250, date(2027, 3, 31))
    assert (progress.keep_threshold, progress.next_value) == (500, 2000)
    # It qualifies until the 300 points of 2026-04-01 leave (after 2027-03-31), then 12 months of grace.
    assert (progress.downgrade_on, progress.downgrade_to) == (date(2028, 4, 1), None)


def test_activity_older_than_the_window_does_not_count(member, tiers):
    days(member, d2026_03_15=1000, d2026_03_16=7)

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.value, progress.by) == (7, date(2027, 3, 15))


@pytest.mark.parametrize(
    ("points", "held"), [(500, HeldBecause.QUALIFIED), (499, HeldBecause.GRACE)], ids=["at", "one-below"]
)
def test_the_threshold_itself_qualifies_and_one_point_below_does_not(member, tiers, points, held):
    MemberTierFactory(member=member, tier=tiers[0], qualified_on=date(2027, 1, 31))
    days(member, d2027_01_31=points)

    progress = tier_progress_get(member=member, today=TODAY)

    assert progress.held_because == held
    assert progress.grace_until == (date(2028, 1, 31) if held == HeldBecause.GRACE else None)


def test_within_grace_the_downgrade_goes_to_what_the_member_still_qualifies_for(member, tiers):
    silver, gold, platinum = tiers
    MemberTierFactory(member=member, tier=gold, qualified_on=date(2026, 12, 31))
    days(member, d2026_10_01=750, d2027_03_01=600)

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.tier, progress.held_because, progress.grace_until) == (
        gold,
        HeldBecause.GRACE,
        date(2027, 12, 31),
    )
    assert (progress.next_tier, progress.missing) == (platinum, 3650)
    # On 2028-01-01 only the 600 points of 2027-03-01 still count: Silver, not nothing.
    assert (progress.downgrade_on, progress.downgrade_to) == (date(2028, 1, 1), silver)


def test_a_tier_set_by_hand_holds_until_its_end_day_then_falls_to_what_counts(member, tiers):
    silver, _, platinum = tiers
    MemberTierFactory(member=member, tier=platinum, manual_until=date(2027, 6, 30), manual_reason="Status match")
    days(member, d2026_04_01=300, d2027_03_01=600)

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.held_because, progress.manual_until, progress.manual_note) == (
        HeldBecause.MANUAL,
        date(2027, 6, 30),
        "Status match",
    )
    assert (progress.next_tier, progress.downgrade_on, progress.downgrade_to) == (None, date(2027, 7, 1), silver)


def test_a_tier_set_by_hand_lasts_the_later_of_its_end_day_and_the_grace_period(member, tiers):
    _, gold, _ = tiers
    MemberTierFactory(
        member=member, tier=gold, qualified_on=date(2027, 3, 1), manual_until=date(2027, 6, 30), manual_reason="Match"
    )

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.held_because, progress.downgrade_on, progress.downgrade_to) == (
        HeldBecause.MANUAL,
        date(2028, 3, 2),
        None,
    )


def test_a_tier_set_by_hand_that_ended_no_longer_explains_the_tier(member, tiers):
    _, gold, _ = tiers
    MemberTierFactory(
        member=member, tier=gold, qualified_on=date(2027, 1, 1), manual_until=date(2027, 3, 14), manual_reason="Match"
    )

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.held_because, progress.manual_until, progress.manual_note) == (HeldBecause.GRACE, None, "")
    assert progress.downgrade_on == date(2028, 1, 2)


def test_a_tier_nothing_holds_any_more_goes_at_the_next_recalculation(member, tiers):
    MemberTierFactory(member=member, tier=tiers[1], qualified_on=None)

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.held_because, progress.downgrade_on, progress.downgrade_to) == (
        HeldBecause.GRACE,
        date(2027, 3, 16),
        None,
    )


def test_lifetime_points_that_qualify_keep_the_tier_with_no_deadline(member, tiers):
    _, gold, platinum = tiers
    policy_set(basis=QualificationBasis.LIFETIME_POINTS)
    MemberTierFactory(member=member, tier=gold, qualified_on=date(2020, 1, 1))
    days(member, d2015_05_05=2000, d2027_03_01=500)

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.value, progress.window_months, progress.held_because) == (2500, None, HeldBecause.QUALIFIED)
    assert (progress.next_tier, progress.missing, progress.by) == (platinum, 2500, None)
    assert (progress.downgrade_on, progress.downgrade_to) == (None, None)


def test_lifetime_points_lowered_by_a_reversal_leave_the_grace_period(member, tiers):
    silver, gold, _ = tiers
    policy_set(basis=QualificationBasis.LIFETIME_POINTS, grace_months=6)
    MemberTierFactory(member=member, tier=gold, qualified_on=date(2027, 2, 10))
    days(member, d2015_05_05=1900)

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.held_because, progress.grace_until) == (HeldBecause.GRACE, date(2027, 8, 10))
    assert (progress.downgrade_on, progress.downgrade_to) == (date(2027, 8, 11), silver)


def test_spend_in_the_window_counts_in_money_to_the_cent(member, tiers):
    silver, gold, _ = tiers
    policy_set(basis=QualificationBasis.ROLLING_SPEND, window_months=6)
    MemberTierFactory(member=member, tier=silver, qualified_on=date(2027, 3, 1))
    QualifyingDayFactory(member=member, day=date(2026, 12, 1), points=9999, spend_amount=Decimal("600.10"))

    progress = tier_progress_get(member=member, today=TODAY)

    assert (progress.value, progress.missing, progress.by) == (
        Decimal("600.10"),
        Decimal("1399.90"),
        date(2027, 5, 31),
    )
    assert (progress.uses_spend, progress.keep_threshold) == (True, Decimal("500.00"))
    assert (progress.downgrade_on, progress.downgrade_to) == (date(2028, 6, 1), None)


def test_the_tier_qualifies_until_the_first_day_that_takes_the_basis_below_its_threshold(member, tiers):
    silver = tiers[0]
    MemberTierFactory(member=member, tier=silver, qualified_on=TODAY)
    days(member, d2026_05_30=250, d2026_05_31=250, d2026_06_01=100)

    progress = tier_progress_get(member=member, today=TODAY)

    # 2026-05-30 leaves after 2027-05-29: 350 left, below 500.
    assert progress.downgrade_on == date(2028, 5, 30)


@pytest.mark.parametrize("rows", [1, 60])
def test_the_progress_reads_four_queries_whatever_the_history(member, tiers, rows, django_assert_num_queries):
    MemberTierFactory(member=member, tier=tiers[0], qualified_on=TODAY)
    for number in range(rows):
        QualifyingDayFactory(
            member=member, day=date(2026, 4, 1 + number % 28).replace(month=4 + number // 28), points=10
        )

    with django_assert_num_queries(4):
        tier_progress_get(member=member, today=TODAY)
