"""Tiers where they meet gifting, merging, tiers set by hand and the portal: each through its own service."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from loyalty.clock import program_date, program_day_start
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit, audit_qualifying
from members.gifting import gift_send
from members.referrals.models import Referral
from members.referrals.services import referral_join
from members.services import member_email_verify, member_merge
from members.tiers.models import MemberTier, QualifyingDay, TierChange, TierChangeReason
from members.tiers.services import member_tier_set, tier_member_merge, tier_recalculate_all
from tests.factories.members import MemberFactory, gift_policy_set

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)


def program_manager() -> User:
    user = User.objects.create_user("manager@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Program manager"))
    return User.objects.get(pk=user.pk)


def tier_name(member):
    state = MemberTier.objects.select_related("tier").filter(member=member).first()
    return state.tier.name if state and state.tier else None


def test_gifted_points_never_count_towards_tiers(tiers):
    sender, recipient = MemberFactory(), MemberFactory()
    gift_policy_set(enabled=True, per_gift_limit=1000, daily_limit=1000, monthly_limit=1000)
    ledger.credit(sender.account, 600, memo="earned", now=NOW)

    gift_send(sender=sender, recipient_number=recipient.member_number, points=600, idempotency_key="g1", now=NOW)

    recipient.account.refresh_from_db()
    assert recipient.account.balance == 600
    assert not QualifyingDay.objects.filter(member=recipient).exists()
    assert tier_name(recipient) is None
    assert tier_name(sender) == "Gold"  # what the sender earned still counts for the sender
    assert audit_qualifying() == []


def test_a_tier_set_by_hand_ends_at_recalculation_after_its_day_to_what_the_member_qualifies_for(tiers):
    member = MemberFactory()
    ledger.credit(member.account, 150, memo="earned")  # Silver, at once
    until = program_date() + timedelta(days=3)
    member_tier_set(member=member, tier=tiers[1], until=until, reason="Status match", actor=program_manager())

    tier_recalculate_all(now=program_day_start(until) + timedelta(hours=12))
    assert tier_name(member) == "Gold"  # its last day still holds
    tier_recalculate_all(now=program_day_start(until) + timedelta(days=1, hours=12))

    assert tier_name(member) == "Silver"
    last = TierChange.objects.filter(member=member).first()
    assert (last.from_tier.name, last.to_tier.name, last.reason) == ("Gold", "Silver", TierChangeReason.MANUAL_ENDED)
    assert MemberTier.objects.get(member=member).manual_until is None


def test_merging_members_moves_their_qualifying_points_tier_and_referrals_to_the_survivor(tiers):
    referrer, source, survivor = MemberFactory(), MemberFactory(), MemberFactory()
    referral_join(referee=source, referrer=referrer)
    ledger.credit(source.account, 300, memo="earned", now=NOW)
    ledger.credit(survivor.account, 250, memo="earned", now=NOW)
    assert (tier_name(source), tier_name(survivor)) == ("Silver", "Silver")

    member_merge(source=source, survivor=survivor, reason="Same person", actor=program_manager(), now=NOW)

    assert tier_name(survivor) == "Gold"  # 300 + 250 reach Gold at once
    assert tier_name(source) is None
    assert not QualifyingDay.objects.filter(member=source).exists()
    assert Referral.objects.get(referrer=referrer).referee_id == survivor.pk
    assert audit() == []
    assert audit_qualifying() == []


def test_the_tier_page_shows_the_tier_a_credit_reached_at_once(client, tiers):
    member = member_email_verify(member=MemberFactory())
    client.force_login(member.user)
    ledger.credit(member.account, 120, memo="earned")

    html = client.get(reverse("portal:tier")).content.decode()

    assert "Silver" in html
    assert "380 points to Gold" in html


def test_a_tier_set_by_hand_on_the_tier_held_in_grace_leaves_the_grace_period_whole(tiers):
    member = MemberFactory()
    earned = ledger.credit(member.account, 600, memo="earned")  # Gold at once
    ledger.reverse(earned, points=200)  # 400: below Gold, which holds through its grace
    until = program_date() + timedelta(days=1)
    member_tier_set(member=member, tier=tiers[1], until=until, reason="Status match", actor=program_manager())

    tier_recalculate_all(now=program_day_start(until) + timedelta(days=2, hours=12))

    state = MemberTier.objects.get(member=member)
    assert (state.tier.name, state.manual_until) == ("Gold", None)  # the grace counts on after the tier by hand
    assert state.qualified_on == program_date()


def test_merging_two_members_of_one_tier_keeps_the_later_qualifying_day(tiers):
    source, survivor = MemberFactory(), MemberFactory()
    for member, days_ago in [(source, 10), (survivor, 200)]:
        MemberTier.objects.create(
            member=member,
            tier=tiers[1],
            qualified_on=program_date() - timedelta(days=days_ago),
            updated_at=timezone.now(),
        )

    tier_member_merge(source=source, survivor=survivor)

    assert MemberTier.objects.get(member=survivor).qualified_on == program_date() - timedelta(days=10)
