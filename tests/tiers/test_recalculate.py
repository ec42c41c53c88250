"""The daily recalculation: the window moving, grace, tiers set by hand ending, run twice, killed and re-run."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction

from loyalty.clock import add_months
from loyalty.ledger import services as ledger
from members.tiers import rules
from members.tiers.models import MemberTier, TierChange, TierChangeReason, TierPolicy
from members.tiers.services import RecalculationResult, tier_recalculate_all
from tests.factories.members import MemberFactory
from tests.factories.tiers import TierFactory, policy_set

JAN_10_2026 = datetime(2026, 1, 10, 12, tzinfo=UTC)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, tzinfo=UTC)


def tier_of(member):
    state = MemberTier.objects.filter(member=member).first()
    return None if state is None else (state.tier.name if state.tier else None, state.qualified_on)


def history(member):
    return list(
        TierChange.objects.filter(member=member)
        .order_by("pk")
        .values_list("from_tier__name", "to_tier__name", "reason")
    )


def snapshot():
    return (
        list(MemberTier.objects.order_by("pk").values_list("member_id", "tier_id", "qualified_on", "manual_until")),
        list(
            TierChange.objects.order_by("member_id", "created_at", "pk").values_list(
                "member_id", "from_tier_id", "to_tier_id", "reason", "created_at"
            )
        ),
    )


def test_the_rolling_window_moves_past_qualifying_points(tiers, member):
    # given no grace, and 600 points on 10 January 2026: Gold
    policy_set(grace_months=0)
    ledger.credit(member.account, 600, now=JAN_10_2026)

    # when recalculated on 9 January 2027, the points' last day in the window
    tier_recalculate_all(now=at(date(2027, 1, 9)))
    # then the member still qualifies, from that day
    assert tier_of(member) == ("Gold", date(2027, 1, 9))

    # when recalculated the next day, the points have left the window
    tier_recalculate_all(now=at(date(2027, 1, 10)))
    assert tier_of(member) == (None, None)
    assert history(member) == [
        (None, "Gold", TierChangeReason.QUALIFIED),
        ("Gold", None, TierChangeReason.GRACE_ENDED),
    ]


def test_a_reversal_lowers_the_window_of_the_original_points(tiers, member):
    # given 300 points in January and 300 in June 2026 (Gold), no grace
    policy_set(grace_months=0)
    january = ledger.credit(member.account, 300, now=JAN_10_2026)
    ledger.credit(member.account, 300, now=datetime(2026, 6, 1, tzinfo=UTC))

    # when 250 of the January points are returned in December 2026
    ledger.reverse(january, points=250, now=datetime(2026, 12, 1, tzinfo=UTC))
    tier_recalculate_all(now=at(date(2026, 12, 2)))

    # then the member has 350 in the window: Silver
    assert tier_of(member) == ("Silver", date(2026, 12, 2))
    # and once January leaves the window in 2027, the June points alone still hold Silver: the
    # return lowered January, not December
    tier_recalculate_all(now=at(date(2027, 1, 10)))
    assert tier_of(member) == ("Silver", date(2027, 1, 10))
    tier_recalculate_all(now=at(date(2027, 6, 1)))
    assert tier_of(member) == (None, None)


def test_a_downgrade_waits_for_the_grace_to_end_and_goes_no_lower_than_qualified(tiers, member):
    # given Gold reached on 10 January 2026, still qualifying on 9 January 2027 (12 months' grace)
    ledger.credit(member.account, 600, now=JAN_10_2026)
    tier_recalculate_all(now=at(date(2027, 1, 9)))
    assert tier_of(member) == ("Gold", date(2027, 1, 9))
    # and 150 points in June 2027: enough for Silver only once January 2026 has left the window
    ledger.credit(member.account, 150, now=datetime(2027, 6, 1, tzinfo=UTC))
    assert rules.grace_end(date(2027, 1, 9), TierPolicy.objects.get()) == date(2028, 1, 9)

    # when recalculated before and on the grace's last day: Gold holds
    for day in (date(2027, 1, 10), date(2027, 12, 31), date(2028, 1, 9)):
        tier_recalculate_all(now=at(day))
        assert tier_of(member) == ("Gold", date(2027, 1, 9)), day

    # when recalculated the day after: Silver, what the member still qualifies for
    tier_recalculate_all(now=at(date(2028, 1, 10)))
    assert tier_of(member) == ("Silver", date(2028, 1, 10))
    assert history(member)[-1] == ("Gold", "Silver", TierChangeReason.GRACE_ENDED)


def test_a_tier_set_by_hand_holds_through_its_last_day_then_ends_to_what_the_member_qualifies_for(tiers, member):
    silver, gold = tiers
    ledger.credit(member.account, 150, now=JAN_10_2026)  # Silver
    # a status match (what member_tier_set will write): Gold until 31 March
    MemberTier.objects.filter(member=member).update(
        tier=gold,
        qualified_on=None,
        manual_until=date(2026, 3, 31),
        manual_reason="Status match",
        updated_at=JAN_10_2026,
    )

    tier_recalculate_all(now=at(date(2026, 3, 31)))
    assert tier_of(member)[0] == "Gold"
    assert MemberTier.objects.get(member=member).manual_until == date(2026, 3, 31)

    tier_recalculate_all(now=at(date(2026, 4, 1)))
    state = MemberTier.objects.get(member=member)
    assert (state.tier, state.qualified_on, state.manual_until, state.manual_reason) == (
        silver,
        date(2026, 4, 1),
        None,
        "",
    )
    assert history(member)[-1] == ("Gold", "Silver", TierChangeReason.MANUAL_ENDED)


def test_a_tier_set_by_hand_that_ends_without_a_qualified_tier_leaves_none(tiers, member):
    _silver, gold = tiers
    MemberTier.objects.create(member=member, tier=gold, manual_until=date(2026, 3, 31), updated_at=JAN_10_2026)

    tier_recalculate_all(now=at(date(2026, 4, 1)))

    assert tier_of(member) == (None, None)
    assert history(member) == [("Gold", None, TierChangeReason.MANUAL_ENDED)]


def test_an_upgrade_earned_during_a_tier_set_by_hand_supersedes_it(tiers, member):
    silver, gold = tiers
    MemberTier.objects.create(member=member, tier=silver, manual_until=date(2026, 12, 31), updated_at=JAN_10_2026)

    ledger.credit(member.account, 600, now=JAN_10_2026)

    state = MemberTier.objects.get(member=member)
    assert (state.tier, state.qualified_on, state.manual_until) == (gold, date(2026, 1, 10), None)


def test_recalculation_upgrades_members_when_staff_lower_a_threshold_and_keeps_them_through_grace_when_raised(
    tiers, member
):
    silver, gold = tiers
    ledger.credit(member.account, 300, now=JAN_10_2026)
    assert tier_of(member) == ("Silver", date(2026, 1, 10))

    gold.threshold = 300
    gold.save()
    assert tier_recalculate_all(now=at(date(2026, 1, 11))) == RecalculationResult(batches=1, changes=1, updated=1)
    assert tier_of(member) == ("Gold", date(2026, 1, 11))
    assert history(member)[-1] == ("Silver", "Gold", TierChangeReason.RECALCULATED)

    gold.threshold = 1000
    gold.save()
    tier_recalculate_all(now=at(date(2026, 6, 1)))
    assert tier_of(member) == ("Gold", date(2026, 1, 11))  # in grace until 11 January 2027
    tier_recalculate_all(now=at(date(2027, 1, 12)))
    assert tier_of(member) == (None, None)  # the January 2026 points have left the window too


def test_recalculation_gives_a_tier_to_members_who_qualify_without_a_row(tiers, member):
    # a tier whose threshold staff lower to zero reaches members who never earned
    silver, _gold = tiers
    silver.threshold = 0
    silver.save()
    other = MemberFactory()

    result = tier_recalculate_all(now=JAN_10_2026)

    assert result == RecalculationResult(batches=1, changes=2, created=2)
    assert tier_of(member) == tier_of(other) == ("Silver", date(2026, 1, 10))


def test_recalculating_twice_changes_nothing(tiers):
    members = [MemberFactory() for _ in range(4)]
    for points, member in zip((50, 150, 600, 0), members, strict=True):
        if points:
            ledger.credit(member.account, points, now=JAN_10_2026)
    TierFactory(name="Platinum", rank=3, threshold=140)  # staff add a tier: two members move up
    tier_recalculate_all(now=at(date(2026, 2, 1)))
    before = snapshot()

    assert tier_recalculate_all(now=at(date(2026, 2, 1))) == RecalculationResult(batches=1)
    assert snapshot() == before


def _population(silver, gold):
    """Members in every situation the recalculation handles, in three batches of three at most."""
    members = [MemberFactory() for _ in range(7)]
    december = datetime(2026, 12, 1, tzinfo=UTC)
    ledger.credit(members[0].account, 600, now=JAN_10_2026)  # Gold; leaves the window, grace over
    ledger.credit(members[1].account, 150, now=december)  # Silver, refreshed
    ledger.credit(members[2].account, 600, now=JAN_10_2026)
    ledger.credit(members[2].account, 200, now=december)  # Gold, down to Silver once the grace is over
    MemberTier.objects.filter(member=members[2]).update(qualified_on=date(2026, 1, 10))
    MemberTier.objects.create(member=members[3], tier=gold, manual_until=date(2027, 12, 31), updated_at=december)
    ledger.credit(members[4].account, 90, now=december)  # nothing, until Silver is lowered
    ledger.credit(members[5].account, 120, now=december)  # Silver, refreshed
    ledger.credit(members[6].account, 100, now=december)  # Silver, then Gold by hand until 14 January
    MemberTier.objects.filter(member=members[6]).update(tier=gold, qualified_on=None, manual_until=date(2027, 1, 14))
    silver.threshold = 80
    silver.save()
    return members


def test_recalculation_killed_after_its_first_batch_and_run_again_ends_as_one_uninterrupted_run(tiers):
    policy_set(grace_months=6)
    members = _population(*tiers)
    now = at(date(2027, 1, 15))
    before = snapshot()

    # the uninterrupted run, rolled back afterwards
    with transaction.atomic():
        tier_recalculate_all(now=now, batch_size=3)
        expected = snapshot()
        transaction.set_rollback(True)
    assert snapshot() == before != expected

    # when the run dies in its second batch, after the first committed
    def die_in_the_second_batch(first_id, last_id):
        if first_id > members[0].pk:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        tier_recalculate_all(now=now, batch_size=3, after_batch=die_in_the_second_batch)
    # then the first batch's changes are there and the others' are not
    changed_today = {row[0] for row in snapshot()[1] if row[4] == now}
    assert changed_today == {members[0].pk, members[2].pk}

    # when it is run again
    tier_recalculate_all(now=now, batch_size=3)
    # then the result is the uninterrupted run's, and a third run changes nothing
    assert snapshot() == expected
    assert tier_recalculate_all(now=now, batch_size=3) == RecalculationResult(batches=3)
    assert [tier_of(m) for m in members] == [
        (None, None),
        ("Silver", date(2027, 1, 15)),
        ("Silver", date(2027, 1, 15)),
        ("Gold", None),
        ("Silver", date(2027, 1, 15)),
        ("Silver", date(2027, 1, 15)),
        ("Silver", date(2027, 1, 15)),
    ]
    assert [history(m)[-1][2] for m in members if history(m)] == [
        TierChangeReason.GRACE_ENDED,
        TierChangeReason.QUALIFIED,
        TierChangeReason.GRACE_ENDED,
        TierChangeReason.RECALCULATED,
        TierChangeReason.QUALIFIED,
        TierChangeReason.MANUAL_ENDED,
    ]


def test_merged_members_are_left_out(tiers, member):
    from members.models import Member

    silver, _gold = tiers
    silver.threshold = 0
    silver.save()
    survivor = MemberFactory()
    Member.objects.filter(pk=member.pk).update(merged_into=survivor)

    tier_recalculate_all(now=JAN_10_2026)

    assert tier_of(member) is None
    assert tier_of(survivor) == ("Silver", date(2026, 1, 10))


@pytest.mark.parametrize("grace_months", [0, 1, 6, 12, 13])
def test_the_grace_cutoff_agrees_with_grace_end_on_every_day(grace_months):
    policy = TierPolicy(grace_months=grace_months)
    for today in (date(2027, 1, 1) + timedelta(days=n) for n in range(0, 800, 1)):
        cutoff = rules.grace_cutoff(today, policy)
        for qualified_on in (cutoff - timedelta(days=1), cutoff):
            assert (today > rules.grace_end(qualified_on, policy)) == (qualified_on < cutoff), (today, qualified_on)
        assert add_months(cutoff, grace_months) >= today


def test_recalculation_reads_the_basis_staff_chose(tiers, member):
    from decimal import Decimal

    from members.tiers.models import QualificationBasis
    from members.tiers.services import qualifying_record

    ledger.credit(member.account, 600, now=datetime(2015, 1, 1, tzinfo=UTC))  # Gold then, long gone
    tier_recalculate_all(now=at(date(2020, 1, 1)))
    assert tier_of(member) == (None, None)

    policy_set(basis=QualificationBasis.LIFETIME_POINTS)
    tier_recalculate_all(now=at(date(2020, 1, 2)))
    assert tier_of(member) == ("Gold", date(2020, 1, 2))

    policy_set(basis=QualificationBasis.ROLLING_SPEND, grace_months=0)
    with transaction.atomic():
        qualifying_record(
            member_id=member.pk, day=date(2020, 1, 2), spend_amount=Decimal("150.50"), now=at(date(2020, 1, 2))
        )
    tier_recalculate_all(now=at(date(2020, 1, 3)))
    assert tier_of(member) == ("Silver", date(2020, 1, 3))


def test_a_higher_rank_with_a_lower_threshold_is_chosen_alike_by_the_upgrade_and_the_recalculation(db):
    TierFactory(name="Odd", rank=1, threshold=500)
    TierFactory(name="Best", rank=2, threshold=300)
    member = MemberFactory()

    ledger.credit(member.account, 600, now=JAN_10_2026)
    assert tier_of(member) == ("Best", date(2026, 1, 10))
    assert tier_recalculate_all(now=JAN_10_2026) == RecalculationResult(batches=1)
