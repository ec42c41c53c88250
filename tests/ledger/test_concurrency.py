"""Concurrent writers on PostgreSQL, each thread on its own connection."""

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from django.db import transaction
from django.db.models import Sum

from loyalty.exceptions import InsufficientPoints
from loyalty.ledger import lock_objects
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Allocation, Entry, EntryKind, ExpiryRun, Lot
from tests.factories.members import MemberFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)


def outcome_names(outcomes) -> Counter:
    return Counter(type(outcome).__name__ for outcome in outcomes)


def test_twenty_debits_of_10_on_100_points_exactly_ten_succeed():
    account = MemberFactory().account
    ledger.credit(account, 100, now=NOW)

    outcomes = run_together(*[lambda: ledger.debit(account, 10, now=NOW)] * 20)

    assert outcome_names(outcomes) == {"Entry": 10, "InsufficientPoints": 10}
    account.refresh_from_db()
    assert account.balance == 0
    assert audit(now=NOW) == []


def test_expiry_racing_debits_never_spends_and_expires_the_same_point():
    # given 100 points whose last day has passed and 100 that are still good
    account = MemberFactory().account
    ledger.credit(account, 100, expires_on=date(2027, 3, 1), now=datetime(2027, 2, 1, tzinfo=UTC))
    ledger.credit(account, 100, expires_on=date(2027, 12, 31), now=datetime(2027, 2, 1, tzinfo=UTC))

    # when 20 debits of 10 race the expiry run
    jobs = [lambda: ledger.debit(account, 10, now=NOW)] * 20 + [lambda: ledger.expire_due(now=NOW)]
    outcomes = run_together(*jobs)

    # then the expired lot was never spent and the good one exactly used up
    assert outcome_names(outcomes[:20]) == {"Entry": 10, "InsufficientPoints": 10}
    account.refresh_from_db()
    assert (account.balance, account.lifetime_expired, account.lifetime_spent) == (0, 100, 100)
    for lot in Lot.objects.filter(account=account):
        spent = -(Allocation.objects.filter(lot=lot).aggregate(total=Sum("points"))["total"] or 0)
        assert spent + lot.expired <= lot.amount
        assert lot.remaining == lot.amount - spent - lot.expired
    assert audit(now=NOW) == []


def test_two_accounts_moved_in_opposite_orders_do_not_deadlock():
    first, second = MemberFactory().account, MemberFactory().account
    for account in (first, second):
        ledger.credit(account, 1000, now=NOW)

    def transfer(source, target):
        def job():
            for _ in range(20):
                with transaction.atomic():
                    lock_objects.accounts_for_update([source.pk, target.pk])
                    ledger.debit(source, 1, now=NOW)
                    ledger.credit(target, 1, now=NOW)
            return "done"

        return job

    # A use case that touches several accounts locks them all first, in primary-key
    # order; without that, opposite orders deadlock and PostgreSQL aborts one of them.
    outcomes = run_together(transfer(first, second), transfer(second, first))

    assert outcomes == ["done", "done"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.balance, second.balance) == (1000, 1000)
    assert audit(now=NOW) == []


def test_concurrent_repeats_of_one_idempotency_key_credit_once():
    account = MemberFactory().account

    outcomes = run_together(*[lambda: ledger.credit(account, 25, idempotency_key="order-1", now=NOW)] * 8)

    assert len({outcome.pk for outcome in outcomes}) == 1
    account.refresh_from_db()
    assert account.balance == 25


def test_insufficient_points_is_the_error_of_the_losers():
    account = MemberFactory().account
    ledger.credit(account, 15, now=NOW)

    outcomes = run_together(*[lambda: ledger.debit(account, 10, now=NOW)] * 2)

    assert sorted(type(o).__name__ for o in outcomes) == ["Entry", "InsufficientPoints"]
    assert next(o for o in outcomes if isinstance(o, InsufficientPoints)).code == "insufficient_points"


def test_transfers_both_ways_racing_the_expiry_run_all_complete():
    # given two accounts, each with 100 points past their last day and 100 still good
    first, second = MemberFactory().account, MemberFactory().account
    for account in (first, second):
        ledger.credit(account, 100, expires_on=date(2027, 3, 1), now=datetime(2027, 2, 1, tzinfo=UTC))
        ledger.credit(account, 100, expires_on=None, now=datetime(2027, 2, 1, tzinfo=UTC))

    def transfer(source, target):
        def job():
            with transaction.atomic():
                lock_objects.accounts_for_update([source.pk, target.pk])
                ledger.debit(source, 5, now=NOW)
                ledger.reverse(ledger.debit(source, 5, now=NOW), now=NOW)
                ledger.credit(target, 5, expires_on=None, now=NOW)
            return "done"

        return job

    # when transfers in both directions race an expiry run that locks both accounts
    jobs = [transfer(first, second), transfer(second, first)] * 5 + [lambda: ledger.expire_due(now=NOW)]
    outcomes = run_together(*jobs)

    # then every transfer completed, nothing deadlocked, and the due points expired exactly once
    assert outcomes[:10] == ["done"] * 10
    # The expiry run settles each account it reaches before a transfer did; a transfer's
    # debit settles the others. Each account expired once, and the run reports exactly the
    # accounts whose expiry its own ExpiryRun caused.
    expiries = Entry.objects.filter(kind=EntryKind.EXPIRE).order_by("account_id")
    assert [(e.account_id, e.amount) for e in expiries] == [(first.pk, -100), (second.pk, -100)]
    by_the_run = [e for e in expiries if ExpiryRun.objects.get(pk=e.cause_id).source == ExpiryRun.Source.SCHEDULE]
    assert outcomes[10].accounts == len(by_the_run)
    assert outcomes[10].expired == 100 * len(by_the_run)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.balance, first.lifetime_expired) == (100, 100)
    assert (second.balance, second.lifetime_expired) == (100, 100)
    assert audit(now=NOW) == []


def test_transfers_both_ways_at_once_neither_deadlock_nor_overspend():
    # given two members with 100 points each, every point in its own lot
    first, second = MemberFactory().account, MemberFactory().account
    for account in (first, second):
        for _ in range(10):
            ledger.credit(account, 10, expires_on=date(2027, 12, 31), now=NOW)
    causes = {account.pk: account.member for account in (first, second)}

    def gifts(source, target):
        def job():
            sent = 0
            for _ in range(15):
                try:
                    ledger.transfer(source, target, 9, EntryKind.GIFT, cause=causes[source.pk], now=NOW)
                    sent += 9
                except InsufficientPoints:
                    pass
            return sent

        return job

    # when each sends 15 gifts of 9 points to the other at the same time
    outcomes = run_together(gifts(first, second), gifts(second, first), gifts(first, second))

    # then every gift either moved whole or not at all, and no balance went below zero
    assert all(isinstance(outcome, int) for outcome in outcomes), outcomes
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.balance == 100 - outcomes[0] - outcomes[2] + outcomes[1]
    assert second.balance == 200 - first.balance
    assert Entry.objects.filter(kind=EntryKind.GIFT).count() == 2 * sum(outcomes) // 9
    assert audit(now=NOW) == []


# Holds (pay with points at a till).

HOLD_ENDS = datetime(2027, 3, 10, 12, 15, tzinfo=UTC)


def test_holds_racing_debits_never_overspend():
    # given 100 points
    account = MemberFactory().account
    ledger.credit(account, 100, now=NOW)

    # when 10 holds of 10 (a till) race 10 debits of 10 (redemptions) and 5 more of each
    hold = lambda: ledger.hold(account, 10, expires_at=HOLD_ENDS, now=NOW)  # noqa: E731
    debit = lambda: ledger.debit(account, 10, now=NOW)  # noqa: E731
    outcomes = run_together(*[hold, debit] * 15)

    # then exactly 10 of them took points, and none went below zero
    names = outcome_names(outcomes)
    assert names["InsufficientPoints"] == 20
    assert names["Hold"] + names["Entry"] == 10
    account.refresh_from_db()
    assert (account.balance, account.held, account.lifetime_spent) == (0, 10 * names["Hold"], 10 * names["Entry"])
    assert audit(now=NOW) == []


def test_two_runs_of_the_hold_release_at_once_release_each_hold_once():
    # given 12 expired holds on 4 accounts
    accounts = [MemberFactory().account for _ in range(4)]
    for account in accounts:
        ledger.credit(account, 30, now=NOW)
        for _ in range(3):
            ledger.hold(account, 10, expires_at=HOLD_ENDS, now=NOW)

    # when two runs (in small batches) start at the same moment
    outcomes = run_together(*[lambda: ledger.holds_release_expired(now=HOLD_ENDS, batch_size=2)] * 2)

    # then every hold was released once, by one run or the other
    assert sum(outcomes) == 12, outcomes
    assert Entry.objects.filter(kind=EntryKind.RELEASE).count() == 12
    for account in accounts:
        account.refresh_from_db()
        assert (account.balance, account.held) == (30, 0)
    assert audit(now=HOLD_ENDS) == []


def test_a_capture_racing_a_void_and_the_release_closes_the_hold_once():
    account = MemberFactory().account
    ledger.credit(account, 100, now=NOW)
    hold = ledger.hold(account, 60, expires_at=HOLD_ENDS, now=NOW)
    just_before = datetime(2027, 3, 10, 12, 14, tzinfo=UTC)

    outcomes = run_together(
        lambda: ledger.hold_capture(hold, points=40, now=just_before),
        lambda: ledger.hold_void(hold, now=just_before),
        lambda: ledger.holds_release_expired(now=just_before),  # not due yet: releases nothing
    )

    assert outcome_names(outcomes[:2]) == {"Entry": 1, "HoldNotOpen": 1}
    assert outcomes[2] == 0
    account.refresh_from_db()
    assert account.held == 0
    assert account.balance in (60, 100)
    assert audit(now=NOW) == []
