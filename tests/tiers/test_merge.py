"""Two members merged: qualifying days summed onto the survivor, tier history moved, the better tier kept."""

from datetime import UTC, date, datetime

from django.db import transaction

from loyalty.ledger import services as ledger
from members.tiers.models import MemberTier, QualifyingDay, TierChange, TierChangeReason
from members.tiers.services import tier_member_merge
from tests.factories.members import MemberFactory

JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
MAR_1 = datetime(2026, 3, 1, 12, tzinfo=UTC)
APR_1 = datetime(2026, 4, 1, 12, tzinfo=UTC)


def days(member):
    return list(QualifyingDay.objects.filter(member=member).order_by("day").values_list("day", "points"))


def history(member):
    return list(
        TierChange.objects.filter(member=member)
        .order_by("created_at", "pk")
        .values_list("from_tier__name", "to_tier__name", "reason", "created_at")
    )


def merge(source, survivor, now):
    with transaction.atomic():  # member_merge's transaction
        tier_member_merge(source=source, survivor=survivor, now=now)


def test_the_survivor_takes_the_sources_better_tier_its_days_summed_and_its_history(tiers):
    silver, gold = tiers
    source, survivor = MemberFactory(), MemberFactory()
    ledger.credit(source.account, 600, now=JAN_10)  # Gold
    ledger.credit(source.account, 20, now=MAR_1)
    ledger.credit(survivor.account, 150, now=JAN_10)  # Silver

    merge(source, survivor, APR_1)

    assert days(source) == []
    assert days(survivor) == [(date(2026, 1, 10), 750), (date(2026, 3, 1), 20)]
    assert not MemberTier.objects.filter(member=source).exists()
    state = MemberTier.objects.get(member=survivor)
    # Gold, and still qualifying for it on the day of the merge
    assert (state.tier, state.qualified_on) == (gold, date(2026, 4, 1))
    assert history(source) == []
    assert history(survivor) == [
        (None, "Gold", TierChangeReason.QUALIFIED, JAN_10),
        (None, "Silver", TierChangeReason.QUALIFIED, JAN_10),
        ("Silver", "Gold", TierChangeReason.MERGED, APR_1),
    ]


def test_summed_days_that_reach_a_higher_tier_upgrade_the_survivor_at_once(tiers):
    source, survivor = MemberFactory(), MemberFactory()
    ledger.credit(source.account, 300, now=JAN_10)
    ledger.credit(survivor.account, 250, now=MAR_1)

    merge(source, survivor, APR_1)

    assert MemberTier.objects.get(member=survivor).tier.name == "Gold"
    assert history(survivor)[-1] == ("Silver", "Gold", TierChangeReason.QUALIFIED, APR_1)
    assert [reason for _f, _t, reason, _at in history(survivor)].count(TierChangeReason.MERGED) == 0


def test_a_survivor_with_the_better_tier_keeps_it_and_its_tier_set_by_hand(tiers):
    silver, gold = tiers
    source, survivor = MemberFactory(), MemberFactory()
    ledger.credit(source.account, 150, now=JAN_10)
    MemberTier.objects.create(
        member=survivor, tier=gold, manual_until=date(2026, 12, 31), manual_reason="Status match", updated_at=JAN_10
    )

    merge(source, survivor, APR_1)

    state = MemberTier.objects.get(member=survivor)
    assert (state.tier, state.manual_until, state.manual_reason) == (gold, date(2026, 12, 31), "Status match")
    assert days(survivor) == [(date(2026, 1, 10), 150)]
    assert history(survivor) == [(None, "Silver", TierChangeReason.QUALIFIED, JAN_10)]  # the source's, moved


def test_merging_members_without_tiers_moves_only_their_days(db):
    source, survivor = MemberFactory(), MemberFactory()
    ledger.credit(source.account, 10, now=JAN_10)

    merge(source, survivor, APR_1)

    assert days(survivor) == [(date(2026, 1, 10), 10)]
    assert not MemberTier.objects.exists()
    assert not TierChange.objects.exists()
