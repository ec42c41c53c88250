"""What the ledger records towards tiers, on which day, and the upgrade in the crediting transaction."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from loyalty.exceptions import ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.models import QUALIFYING_KINDS, Adjustment, EntryKind
from members.tiers import services as tiers_services
from members.tiers.models import MemberTier, QualificationBasis, QualifyingDay, TierChange, TierChangeReason
from missions.badges.milestones import milestones_get
from tests.factories.members import MemberFactory
from tests.factories.tiers import policy_set

JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
MAR_1 = datetime(2026, 3, 1, 12, tzinfo=UTC)
MAR_5 = datetime(2026, 3, 5, 12, tzinfo=UTC)


def days(member):
    return list(QualifyingDay.objects.filter(member=member).order_by("day").values_list("day", "points"))


def tier_of(member):
    state = MemberTier.objects.filter(member=member).first()
    return None if state is None else (state.tier.name if state.tier else None, state.qualified_on)


def history(member):
    return list(
        TierChange.objects.filter(member=member)
        .order_by("pk")
        .values_list("from_tier__name", "to_tier__name", "reason", "created_at")
    )


@pytest.mark.parametrize(
    ("points", "expected"), [(99, None), (100, ("Silver", date(2026, 1, 10)))], ids=["one below", "at"]
)
def test_a_credit_exactly_at_the_threshold_upgrades_at_once_and_one_below_does_not(tiers, member, points, expected):
    ledger.credit(member.account, points, now=JAN_10)

    assert days(member) == [(date(2026, 1, 10), points)]
    assert tier_of(member) == expected
    assert history(member) == ([(None, "Silver", TierChangeReason.QUALIFIED, JAN_10)] if expected else [])


def test_points_add_up_per_day_and_cross_two_thresholds_on_the_way(tiers, member):
    ledger.credit(member.account, 60, now=JAN_10)
    ledger.credit(member.account, 40, EntryKind.BONUS, now=JAN_10)
    ledger.credit(member.account, 400, now=MAR_1)

    assert days(member) == [(date(2026, 1, 10), 100), (date(2026, 3, 1), 400)]
    assert tier_of(member) == ("Gold", date(2026, 3, 1))
    assert history(member) == [
        (None, "Silver", TierChangeReason.QUALIFIED, JAN_10),
        ("Silver", "Gold", TierChangeReason.QUALIFIED, MAR_1),
    ]


def test_a_credit_that_still_reaches_the_members_tier_refreshes_the_day_it_qualified(tiers, member):
    ledger.credit(member.account, 150, now=JAN_10)
    ledger.credit(member.account, 1, now=MAR_1)

    assert tier_of(member) == ("Silver", date(2026, 3, 1))
    assert len(history(member)) == 1


def test_a_reversal_lowers_the_day_the_points_were_earned_not_the_day_of_the_reversal(tiers, member):
    # given 300 points on 10 January and 300 on 1 March: Gold
    first = ledger.credit(member.account, 300, now=JAN_10)
    ledger.credit(member.account, 300, now=MAR_1)

    # when 100 of the January points are taken back on 5 March, then the rest of them
    ledger.reverse(first, points=100, now=MAR_5)
    assert days(member) == [(date(2026, 1, 10), 200), (date(2026, 3, 1), 300)]
    ledger.reverse(first, now=MAR_5)

    # then January's day is empty, March keeps its 300, and the tier waits for recalculation
    assert days(member) == [(date(2026, 1, 10), 0), (date(2026, 3, 1), 300)]
    assert tier_of(member) == ("Gold", date(2026, 3, 1))


def test_a_qualifying_adjustment_counts_a_plain_one_does_not(tiers, member):
    ledger.adjust(member.account, 100, reason="Lost receipt", qualifying=True, now=JAN_10)
    ledger.adjust(member.account, 1000, reason="Goodwill", now=JAN_10)

    assert days(member) == [(date(2026, 1, 10), 100)]
    assert list(Adjustment.objects.order_by("pk").values_list("points", "qualifying")) == [(100, True), (1000, False)]
    assert tier_of(member) == ("Silver", date(2026, 1, 10))


def test_reversing_an_adjustment_takes_back_only_what_qualified(tiers, member):
    qualifying = ledger.adjust(member.account, 120, reason="Lost receipt", qualifying=True, now=JAN_10)
    plain = ledger.adjust(member.account, 50, reason="Goodwill", now=JAN_10)

    ledger.reverse(plain, now=MAR_1)
    assert days(member) == [(date(2026, 1, 10), 120)]
    ledger.reverse(qualifying, points=30, now=MAR_1)
    assert days(member) == [(date(2026, 1, 10), 90)]


def test_spending_expiry_and_a_debits_reversal_leave_the_qualifying_days_alone(tiers, member):
    ledger.credit(member.account, 200, expires_on=date(2026, 1, 31), now=JAN_10)
    redemption = ledger.debit(member.account, 50, now=JAN_10)
    ledger.reverse(redemption, now=JAN_10)
    ledger.adjust(member.account, -20, reason="Correction", now=JAN_10)
    ledger.expire_due(now=MAR_1)

    assert days(member) == [(date(2026, 1, 10), 200)]


def test_a_negative_or_a_caused_adjustment_cannot_be_made_qualifying(tiers, member):
    ledger.credit(member.account, 50, now=JAN_10)

    with pytest.raises(ValidationError):
        ledger.adjust(member.account, -10, reason="Correction", qualifying=True, now=JAN_10)
    with pytest.raises(ValidationError):
        ledger.credit(member.account, 10, EntryKind.EARN, qualifying=True, now=JAN_10)
    with pytest.raises(ValidationError):
        ledger.credit(member.account, 10, EntryKind.ADJUST, cause=member, qualifying=True, now=JAN_10)

    member.account.refresh_from_db()
    assert member.account.balance == 50
    assert days(member) == [(date(2026, 1, 10), 50)]


def test_a_repeated_credit_counts_once(tiers, member):
    for _ in range(2):
        ledger.credit(member.account, 100, idempotency_key="k-1", now=JAN_10)

    assert days(member) == [(date(2026, 1, 10), 100)]
    assert len(history(member)) == 1


def test_a_rolled_back_credit_leaves_no_qualifying_day_and_no_upgrade(tiers, member):
    def purchase_that_fails_after_crediting():
        with transaction.atomic():
            ledger.credit(member.account, 600, now=JAN_10)
            assert tier_of(member) == ("Gold", date(2026, 1, 10))  # the upgrade is in the credit's transaction
            raise RuntimeError("the purchase failed")

    with pytest.raises(RuntimeError):
        purchase_that_fails_after_crediting()

    assert days(member) == []
    assert tier_of(member) is None
    assert history(member) == []


def test_the_day_is_the_programs_whatever_the_active_time_zone(tiers, member):
    late = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)  # already 11 January in Kiritimati (UTC+14)
    with timezone.override("Pacific/Kiritimati"):
        ledger.credit(member.account, 100, now=late)
    with override_settings(TIME_ZONE="Pacific/Kiritimati"):  # a program run from Kiritimati
        ledger.credit(member.account, 10, now=late)

    assert days(member) == [(date(2026, 1, 10), 100), (date(2026, 1, 11), 10)]


def test_a_reversal_under_a_far_time_zone_lowers_the_original_program_day(tiers, member):
    earned = ledger.credit(member.account, 100, now=datetime(2026, 1, 10, 23, 30, tzinfo=UTC))
    with timezone.override("Pacific/Kiritimati"):
        ledger.reverse(earned, points=40, now=datetime(2026, 1, 11, 0, 30, tzinfo=UTC))

    assert days(member) == [(date(2026, 1, 10), 60)]


def test_a_suspended_member_earns_nothing_towards_tiers(tiers, member):
    from loyalty.exceptions import MemberSuspended
    from members.models import Member, MemberStatus

    Member.objects.filter(pk=member.pk).update(status=MemberStatus.SUSPENDED)
    with pytest.raises(MemberSuspended):
        ledger.credit(member.account, 600, now=JAN_10)

    assert days(member) == []
    assert tier_of(member) is None


def test_lifetime_points_count_whatever_their_age(tiers, member):
    policy_set(basis=QualificationBasis.LIFETIME_POINTS)
    ledger.credit(member.account, 400, now=datetime(2015, 1, 1, tzinfo=UTC))
    ledger.credit(member.account, 100, now=JAN_10)

    assert tier_of(member) == ("Gold", date(2026, 1, 10))


def test_on_the_spend_basis_points_do_not_upgrade_but_recorded_spend_does(tiers, member):
    policy_set(basis=QualificationBasis.ROLLING_SPEND)
    ledger.credit(member.account, 1000, now=JAN_10)
    assert tier_of(member) is None

    # what the earning engine will do for a purchase, in its crediting transaction
    with transaction.atomic():
        tiers_services.qualifying_record(
            member_id=member.pk, day=date(2026, 1, 10), spend_amount=Decimal("100.00"), now=JAN_10
        )
    assert tier_of(member) == ("Silver", date(2026, 1, 10))
    assert QualifyingDay.objects.get(member=member).spend_amount == Decimal("100.00")


def test_a_member_without_tiers_defined_still_records_its_days(db):
    member = MemberFactory()
    ledger.credit(member.account, 100, now=JAN_10)

    assert days(member) == [(date(2026, 1, 10), 100)]
    assert not MemberTier.objects.exists()


def test_a_qualifying_credit_runs_a_fixed_number_of_queries(tiers, member, django_assert_num_queries):
    ledger.credit(member.account, 50, now=JAN_10)
    milestones_get()  # the tier badges are read once, then from the cache: none here, no query for them
    postgres = connection.vendor == "postgresql"
    # crossing a threshold: a savepoint, the lock, the write (three statements on SQLite), the
    # qualifying day, policy and tiers, value and state, the member's tier, its history, its tier.changed
    # event (INSERT ... SELECT), the release
    with django_assert_num_queries(10 if postgres else 12):
        ledger.credit(member.account, 60, now=JAN_10)
    # reaching nothing new: the same up to value and state, then the refresh of qualified_on
    with django_assert_num_queries(8 if postgres else 10):
        ledger.credit(member.account, 10, now=MAR_1)
    # the same day: nothing to refresh
    with django_assert_num_queries(7 if postgres else 9):
        ledger.credit(member.account, 10, now=MAR_1)


def test_only_earned_and_bonus_points_qualify_by_their_kind():
    # gifts and merges move points between members (their verbs are not credit); they never qualify
    assert frozenset({EntryKind.EARN, EntryKind.BONUS}) == QUALIFYING_KINDS
    assert {EntryKind.GIFT, EntryKind.MERGE, EntryKind.ADJUST}.isdisjoint(QUALIFYING_KINDS)


def test_a_credit_dated_before_the_day_the_member_last_qualified_does_not_move_that_day_back(tiers, member):
    ledger.credit(member.account, 150, now=MAR_1)
    ledger.credit(member.account, 10, now=JAN_10)  # a late-posted purchase of January

    assert tier_of(member) == ("Silver", date(2026, 3, 1))
