"""The ledger audit's check of what counts towards tiers: qualifying days against the entries."""

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit_qualifying
from loyalty.ledger.models import EntryKind
from members.models import Member
from members.tiers.models import QualifyingDay
from members.tiers.services import tier_member_merge
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
MAR_1 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def sound(tiers):
    first, second, merged = MemberFactory(), MemberFactory(), MemberFactory()
    shop = PartnerFactory()  # every credit names its cause (a partner stands for its transaction)
    earned = ledger.credit(first.account, 300, cause=shop, now=JAN_10)
    ledger.credit(first.account, 40, EntryKind.BONUS, cause=shop, now=JAN_10)
    ledger.reverse(earned, points=100, now=MAR_1)
    goodwill = ledger.adjust(first.account, 50, reason="Lost receipt", qualifying=True, now=JAN_10)
    ledger.reverse(goodwill, points=20, now=MAR_1)
    plain = ledger.adjust(first.account, 70, reason="Goodwill", now=JAN_10)
    ledger.reverse(plain, now=MAR_1)
    ledger.reverse(ledger.debit(first.account, 30, cause=shop, now=MAR_1), now=MAR_1)
    ledger.credit(second.account, 10, cause=shop, now=JAN_10)
    ledger.credit(merged.account, 120, cause=shop, now=JAN_10)
    with transaction.atomic():  # what member_merge will do
        tier_member_merge(source=merged, survivor=second, now=MAR_1)
        Member.objects.filter(pk=merged.pk).update(merged_into=second)
    return first, second


def test_a_ledger_written_through_its_services_passes(sound):
    assert audit_qualifying() == []
    call_command("ledger_audit")


def test_a_qualifying_day_changed_behind_the_ledgers_back_is_reported(sound):
    first, _second = sound
    QualifyingDay.objects.filter(member=first).update(points=1)

    assert audit_qualifying() == [
        f"member {first.pk}: qualifying days hold 1 points; its qualifying entries minus their reversals, 270"
    ]
    with pytest.raises(CommandError):
        call_command("ledger_audit")


def test_points_earned_before_their_day_was_recorded_are_reported_and_their_reversal_goes_no_lower(tiers):
    # given points earned before tiers existed (their day is missing): the audit reports them
    member = MemberFactory()
    earned = ledger.credit(member.account, 100, now=JAN_10)
    ledger.credit(member.account, 30, now=MAR_1)
    QualifyingDay.objects.filter(member=member, day=JAN_10.date()).delete()
    assert audit_qualifying() == [
        f"member {member.pk}: qualifying days hold 30 points; its qualifying entries minus their reversals, 130"
    ]

    # when they are reversed, then no day goes below zero, and nothing is left to report
    ledger.reverse(earned, points=60, now=MAR_1)
    ledger.reverse(earned, now=MAR_1)

    assert list(QualifyingDay.objects.values_list("day", "points")) == [(MAR_1.date(), 30)]
    assert audit_qualifying() == []
