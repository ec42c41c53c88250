"""Reversals: a debit's points go back where they came from; a credit's are taken back."""

from datetime import UTC, date, datetime

import pytest

from loyalty.exceptions import InsufficientPoints, NotReversible
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind, Lot
from tests.helpers import ledger_state as state

JAN_10 = datetime(2027, 1, 10, 12, tzinfo=UTC)
FEB_5 = datetime(2027, 2, 5, 12, tzinfo=UTC)


def remaining(account):
    return list(Lot.objects.filter(account=account).order_by("pk").values_list("remaining", flat=True))


@pytest.fixture
def two_lots_and_a_debit(account):
    """100 points expiring 31 January, 100 expiring 31 March, and a debit of 150 that took 100 + 50."""
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.credit(account, 100, expires_on=date(2027, 3, 31), now=JAN_10)
    return ledger.debit(account, 150, now=JAN_10)


def test_reversing_a_debit_gives_the_points_back_to_the_lots_they_came_from(account, two_lots_and_a_debit):
    # when the debit is reversed
    reversal = ledger.reverse(two_lots_and_a_debit, now=JAN_10)

    # then both lots are whole again and the reversal points at the debit
    assert (reversal.kind, reversal.amount, reversal.balance_after) == (EntryKind.REVERSE, 150, 200)
    assert reversal.reverses == two_lots_and_a_debit
    assert remaining(account) == [100, 100]
    assert sorted(reversal.allocations.values_list("points", flat=True)) == [50, 100]
    account.refresh_from_db()
    assert (account.balance, account.lifetime_spent) == (200, 0)
    assert audit(now=JAN_10) == []


def test_a_partial_reversal_of_a_debit_restores_the_lot_taken_last_first(account, two_lots_and_a_debit):
    # when 30 of the 150 points are given back, then 40 more
    ledger.reverse(two_lots_and_a_debit, points=30, now=JAN_10)
    assert remaining(account) == [0, 80]
    ledger.reverse(two_lots_and_a_debit, points=40, now=JAN_10)

    # then the March lot (taken last) is refilled first, then the January one
    assert remaining(account) == [20, 100]
    account.refresh_from_db()
    assert (account.balance, account.lifetime_spent) == (120, 80)
    assert audit(now=JAN_10) == []


def test_partial_reversals_can_add_up_to_the_whole_and_no_more(account, two_lots_and_a_debit):
    # given 100 of the 150 points given back
    ledger.reverse(two_lots_and_a_debit, points=100, now=JAN_10)

    # when 51 more are asked for, then the 50 left
    with pytest.raises(NotReversible) as refused:
        ledger.reverse(two_lots_and_a_debit, points=51, now=JAN_10)
    assert refused.value.details == {"reversible": 50}
    ledger.reverse(two_lots_and_a_debit, now=JAN_10)

    # then the whole debit is undone
    assert remaining(account) == [100, 100]
    assert list(two_lots_and_a_debit.reversals.order_by("pk").values_list("amount", flat=True)) == [100, 50]


def test_a_second_full_reversal_is_refused_and_writes_nothing(account, two_lots_and_a_debit):
    # given a debit already reversed
    ledger.reverse(two_lots_and_a_debit, now=JAN_10)
    before = state(account)

    # when it is reversed again
    with pytest.raises(NotReversible):
        ledger.reverse(two_lots_and_a_debit, now=JAN_10)

    # then nothing changed
    assert state(account) == before


def test_reversing_a_reversal_is_refused(account, two_lots_and_a_debit):
    reversal = ledger.reverse(two_lots_and_a_debit, points=10, now=JAN_10)
    before = state(account)

    with pytest.raises(NotReversible):
        ledger.reverse(reversal, now=JAN_10)

    assert state(account) == before


def test_reversing_an_expiry_is_refused(account):
    # given 100 points that expired
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.expire_due(now=FEB_5)
    expiry = account.entries.get(kind=EntryKind.EXPIRE)
    before = state(account)

    # when the expiry is reversed
    with pytest.raises(NotReversible):
        ledger.reverse(expiry, now=FEB_5)

    # then nothing changed
    assert state(account) == before


def test_a_credit_reversal_takes_its_own_lot_first_then_other_lots_in_expiry_order(account):
    # given a March lot and a January lot of 50 each, then a credit of 100 that never expires, 30 of it spent
    # (a debit of 130 takes January 50, March 50, then 30 of the credit's own lot)
    ledger.credit(account, 50, expires_on=date(2027, 3, 31), now=JAN_10)
    ledger.credit(account, 50, expires_on=date(2027, 1, 31), now=JAN_10)
    credit = ledger.credit(account, 100, expires_on=None, now=JAN_10)
    ledger.debit(account, 130, now=JAN_10)
    ledger.credit(account, 40, expires_on=date(2027, 6, 30), now=JAN_10)
    ledger.credit(account, 40, expires_on=date(2027, 2, 28), now=JAN_10)
    assert remaining(account) == [0, 0, 70, 40, 40]

    # when the whole credit is reversed
    reversal = ledger.reverse(credit, now=JAN_10)

    # then 70 come from its own lot and the 30 it is short from the lot expiring soonest (February)
    assert (reversal.kind, reversal.amount, reversal.balance_after) == (EntryKind.REVERSE, -100, 50)
    assert remaining(account) == [0, 0, 0, 40, 10]
    account.refresh_from_db()
    assert (account.balance, account.lifetime_earned) == (50, 180)
    assert audit(now=JAN_10) == []


def test_a_pending_credit_is_reversed_from_its_pending_lot(account):
    # given 60 points pending until February and 10 available
    credit = ledger.credit(account, 60, available_at=datetime(2027, 2, 1, tzinfo=UTC), expires_on=None, now=JAN_10)
    ledger.credit(account, 10, expires_on=None, now=JAN_10)

    # when 45 of the pending credit are reversed
    ledger.reverse(credit, points=45, now=JAN_10)

    # then they come out of pending, and the spendable balance is untouched
    account.refresh_from_db()
    assert (account.balance, account.pending) == (10, 15)
    assert remaining(account) == [15, 10]
    assert audit(now=JAN_10) == []


def test_reversing_a_credit_the_member_spent_and_no_longer_holds_is_refused_and_writes_nothing(account):
    # given 100 points credited, 90 of them spent
    credit = ledger.credit(account, 100, expires_on=None, now=JAN_10)
    ledger.debit(account, 90, now=JAN_10)
    before = state(account)

    # when the credit is reversed
    with pytest.raises(InsufficientPoints) as refused:
        ledger.reverse(credit, now=JAN_10)

    # then nothing was written
    assert refused.value.details == {"available": 0, "requested": 90}
    assert state(account) == before
    # and what the member still holds can be reversed
    ledger.reverse(credit, points=10, now=JAN_10)
    account.refresh_from_db()
    assert account.balance == 0


def test_a_credits_expired_points_are_not_taken_back(account):
    # given 100 points expiring 31 January of which 30 were spent and 70 expired, and 50 points that never expire
    credit = ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.debit(account, 30, now=JAN_10)
    ledger.credit(account, 50, expires_on=None, now=JAN_10)
    ledger.expire_due(now=FEB_5)

    # when the credit is reversed
    reversal = ledger.reverse(credit, now=FEB_5)

    # then only the 30 that did not expire are taken back, from the other lot
    assert reversal.amount == -30
    account.refresh_from_db()
    assert (account.balance, account.lifetime_expired) == (20, 70)
    assert remaining(account) == [0, 20]
    with pytest.raises(NotReversible):
        ledger.reverse(credit, now=FEB_5)
    assert audit(now=FEB_5) == []


def test_a_credit_whose_points_all_expired_cannot_be_reversed(account):
    credit = ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.credit(account, 50, expires_on=None, now=JAN_10)
    before_expiry_run = account.entries.count()

    # when the credit is reversed after its last day (the reversal settles the expiry first)
    with pytest.raises(NotReversible):
        ledger.reverse(credit, now=FEB_5)

    # then nothing was written, not even the expiry
    assert account.entries.count() == before_expiry_run
    account.refresh_from_db()
    assert account.balance == 150


def test_points_given_back_to_a_lot_past_its_last_day_expire_at_once(account, two_lots_and_a_debit):
    # given the January lot, emptied by the debit, is past its last day on 5 February
    # when the debit is reversed on 5 February
    reversal = ledger.reverse(two_lots_and_a_debit, now=FEB_5)

    # then the 100 given back to the January lot expire at once; the 50 of the March lot stay
    assert (reversal.amount, reversal.balance_after) == (150, 200)
    account.refresh_from_db()
    assert (account.balance, account.lifetime_spent, account.lifetime_expired) == (100, 0, 100)
    assert remaining(account) == [0, 100]
    assert list(account.entries.order_by("pk").values_list("kind", "amount", "balance_after"))[-2:] == [
        (EntryKind.REVERSE, 150, 200),
        (EntryKind.EXPIRE, -100, 100),
    ]
    assert audit(now=FEB_5, expiry_grace_days=0) == []


def test_a_credit_already_taken_back_stays_not_reversible_after_its_lot_expires_given_back_points(account):
    # given a January credit spent by a debit, the credit reversed from a never-expiring lot,
    # and the debit reversed after the January lot's last day (its 100 points expire at once)
    credit = ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.credit(account, 100, expires_on=None, now=JAN_10)
    debit = ledger.debit(account, 100, now=JAN_10)
    ledger.reverse(credit, now=JAN_10)
    ledger.reverse(debit, now=FEB_5)
    before = state(account)
    assert before[:5] == (0, 0, 100, 0, 100)

    # when the credit is reversed again
    with pytest.raises(NotReversible):
        ledger.reverse(credit, now=FEB_5)

    # then nothing changed: no points were made out of the expired ones
    assert state(account) == before
    assert audit(now=FEB_5) == []


def test_a_reversal_is_attributed_to_the_cause_of_the_entry_it_reverses(account):
    # given a debit caused by another entry (any model will do as a cause)
    cause = ledger.credit(account, 100, expires_on=None, now=JAN_10)
    debit = ledger.debit(account, 40, cause=cause, memo="order 7", now=JAN_10)

    reversal = ledger.reverse(debit, memo="order 7 returned", now=JAN_10)

    assert reversal.cause == cause
    assert (reversal.memo, reversal.reverses_id) == ("order 7 returned", debit.pk)
    assert Entry.objects.filter(reverses=debit).count() == 1
