"""Reversing a merged member's entries: the points are the survivor's now, so the reversal is too.

A credit of the merged member (a purchase returned after the merge) is taken back from the survivor,
first from the lot its points moved to (a pending credit takes back pending points); a debit (a
redemption cancelled or refunded after the merge) gives its points back to the lots they came from,
which follow the merge to the survivor with their dates. The audits stay clean.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import Sum

from loyalty.exceptions import MemberClosed
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit, audit_causes, audit_qualifying
from loyalty.ledger.models import Entry, EntryKind, Lot, Shortfall
from members.models import MemberStatus
from members.services import member_merge, member_status_change
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db

EARNED = datetime(2027, 2, 1, 12, tzinfo=UTC)
MERGED = datetime(2027, 3, 10, 12, tzinfo=UTC)
LATER = datetime(2027, 3, 20, 9, tzinfo=UTC)
RELEASE = datetime(2027, 4, 1, 9, tzinfo=UTC)


def balances(account) -> tuple[int, int, int]:
    account.refresh_from_db()
    return account.balance, account.pending, account.debt


def clean() -> bool:
    # The tests' own credits name no cause, nor do their reversals: the merges' entries must.
    written_here = [line for line in audit_causes() if " merge " in line]
    problems = audit(now=LATER) + audit_qualifying() + written_here
    assert problems == []
    return True


@pytest.fixture
def pair():
    return MemberFactory(), MemberFactory()


def test_a_credit_reversed_after_the_merge_is_taken_from_the_survivor(pair):
    source, survivor = pair
    earned = ledger.credit(source.account, 100, kind=EntryKind.EARN, expires_on=date(2027, 12, 31), now=EARNED)
    ledger.credit(survivor.account, 30, now=EARNED)
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)

    reversal = ledger.reverse(earned, points=40, now=LATER)

    assert (reversal.account_id, reversal.reverses_id) == (survivor.account.pk, earned.pk)
    assert balances(survivor.account) == (90, 0, 0)
    assert balances(source.account) == (0, 0, 0)
    assert ledger.reversible_points(earned) == 60
    assert clean()


def test_a_pending_credit_reversed_after_the_merge_takes_back_its_pending_points(pair):
    source, survivor = pair
    earned = ledger.credit(source.account, 50, kind=EntryKind.EARN, available_at=RELEASE, now=EARNED)
    ledger.credit(survivor.account, 200, now=EARNED)
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)

    ledger.reverse(earned, shortfall=Shortfall.DEBT, now=LATER)

    assert balances(survivor.account) == (200, 0, 0)  # the moved pending lot, not the available points
    assert clean()


def test_points_the_survivor_spent_are_owed_by_the_survivor(pair):
    source, survivor = pair
    earned = ledger.credit(source.account, 100, kind=EntryKind.EARN, now=EARNED)
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)
    ledger.debit(survivor.account, 70, now=MERGED + timedelta(days=1))

    reversal = ledger.reverse(earned, shortfall=Shortfall.DEBT, now=LATER)

    assert (reversal.amount, reversal.debt) == (-30, 70)
    assert balances(survivor.account) == (0, 0, 70)
    ledger.credit(survivor.account, 100, now=LATER + timedelta(days=1))  # the next earning pays it first
    assert balances(survivor.account) == (30, 0, 0)
    assert clean()


def test_a_debit_refunded_after_the_merge_lands_on_the_survivor_with_its_dates(pair):
    source, survivor = pair
    ledger.credit(source.account, 60, expires_on=date(2027, 6, 30), now=EARNED)
    ledger.credit(source.account, 60, expires_on=date(2027, 12, 31), now=EARNED)
    spent = ledger.debit(source.account, 100, now=EARNED + timedelta(days=1))  # 60 of June, 40 of December
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)
    assert balances(survivor.account) == (20, 0, 0)

    reversal = ledger.reverse(spent, now=LATER)

    assert reversal.account_id == source.account.pk
    assert balances(source.account) == (0, 0, 0)
    assert balances(survivor.account) == (120, 0, 0)
    by_expiry = Lot.objects.filter(account=survivor.account).values("expires_on").annotate(points=Sum("remaining"))
    assert sorted((row["expires_on"], row["points"]) for row in by_expiry) == [
        (date(2027, 6, 30), 60),
        (date(2027, 12, 31), 60),  # 20 moved by the merge, 40 given back
    ]
    moved_in = Entry.objects.get(account=survivor.account, kind=EntryKind.MERGE, cause_id=str(reversal.pk))
    assert moved_in.amount == 100
    assert moved_in.memo_display == (
        f"Points given back to member {source.member_number}, whose membership was merged into this one"
    )
    assert clean()


def test_a_refund_after_the_merge_pays_the_survivors_debt_first(pair):
    source, survivor = pair
    ledger.credit(source.account, 100, now=EARNED)
    spent = ledger.debit(source.account, 100, now=EARNED)
    returned = ledger.credit(survivor.account, 50, kind=EntryKind.EARN, now=EARNED)
    ledger.debit(survivor.account, 50, now=EARNED)
    ledger.reverse(returned, shortfall=Shortfall.DEBT, now=EARNED + timedelta(hours=1))
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)
    assert balances(survivor.account) == (0, 0, 50)

    ledger.reverse(spent, now=LATER)

    assert balances(survivor.account) == (50, 0, 0)
    assert clean()


def test_a_reversal_repeated_across_the_merge_is_written_once(pair):
    source, survivor = pair
    spent_from = ledger.credit(source.account, 100, now=EARNED)
    spent = ledger.debit(source.account, 80, now=EARNED)
    earned = ledger.credit(source.account, 50, kind=EntryKind.EARN, now=EARNED)
    before_merge = ledger.reverse(spent, points=30, idempotency_key="refund-1", now=EARNED + timedelta(hours=1))
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)

    assert ledger.reverse(spent, points=30, idempotency_key="refund-1", now=LATER) == before_merge
    after_merge = ledger.reverse(earned, idempotency_key="return-1", now=LATER)
    assert ledger.reverse(earned, idempotency_key="return-1", now=LATER) == after_merge

    assert balances(survivor.account) == (100 - 80 + 30, 0, 0)
    assert spent_from.account_id == source.account.pk
    assert clean()


def test_a_chain_of_merges_leads_to_the_last_survivor(pair):
    first, second = pair
    last = MemberFactory()
    earned = ledger.credit(first.account, 40, kind=EntryKind.EARN, available_at=RELEASE, now=EARNED)
    ledger.credit(last.account, 10, now=EARNED)
    member_merge(source=first, survivor=second, reason="Duplicate", now=MERGED)
    member_merge(source=second, survivor=last, reason="Duplicate again", now=MERGED + timedelta(days=1))

    reversal = ledger.reverse(earned, points=15, shortfall=Shortfall.DEBT, now=LATER)

    assert reversal.account_id == last.account.pk
    assert balances(last.account) == (10, 25, 0)  # from the pending lot it moved to, twice
    assert clean()


def test_a_closed_survivor_takes_nothing(pair):
    source, survivor = pair
    earned = ledger.credit(source.account, 100, kind=EntryKind.EARN, now=EARNED)
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)
    member_status_change(member=survivor, status=MemberStatus.CLOSED, reason="Asked to leave")

    with pytest.raises(MemberClosed):
        ledger.reverse(earned, now=LATER)


def test_a_credit_released_after_the_merge_is_taken_back_from_its_own_moved_lot(pair):
    source, survivor = pair
    earned = ledger.credit(
        source.account, 50, kind=EntryKind.EARN, available_at=RELEASE, expires_on=date(2028, 1, 31), now=EARNED
    )
    ledger.credit(survivor.account, 200, expires_on=date(2027, 9, 30), now=EARNED)  # sooner: taken first otherwise
    member_merge(source=source, survivor=survivor, reason="Duplicate card", now=MERGED)
    after_release = RELEASE + timedelta(days=1)

    reversal = ledger.reverse(earned, points=20, now=after_release)

    (taken_from,) = reversal.allocations.values_list("lot__expires_on", "points")
    assert taken_from == (date(2028, 1, 31), -20)
    assert balances(survivor.account) == (230, 0, 0)
    assert audit(now=after_release) == []
