"""The ledger verbs by example: expiry, pending points, idempotency, reversals, validation."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from loyalty.exceptions import IdempotencyConflict, InsufficientPoints, NotReversible, ValidationError
from loyalty.ledger import policy
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind, Lot
from tests.factories.members import MemberFactory

MAR_1 = datetime(2027, 3, 1, 10, tzinfo=UTC)


def at(day: date, hour: int = 0, minute: int = 5) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def snapshot(account):
    account.refresh_from_db()
    lots = list(Lot.objects.filter(account=account).order_by("pk").values_list("remaining", "expired", "pending"))
    return account.balance, account.pending, account.entries.count(), lots


# Expiry


def test_points_count_until_the_end_of_their_last_day_and_expire_after_it(account):
    ledger.credit(account, 80, expires_on=date(2027, 3, 31), now=MAR_1)

    assert ledger.expire_due(now=at(date(2027, 3, 31), 23, 59)).expired == 0
    assert ledger.expire_due(now=at(date(2027, 4, 1))).expired == 80
    account.refresh_from_db()
    assert (account.balance, account.lifetime_expired) == (0, 80)


def test_partial_spending_expires_only_the_remainder_and_a_second_run_changes_nothing(account):
    ledger.credit(account, 100, expires_on=date(2027, 3, 31), now=MAR_1)
    ledger.debit(account, 35, now=MAR_1)

    first = ledger.expire_due(now=at(date(2027, 4, 2)))
    before = snapshot(account)
    second = ledger.expire_due(now=at(date(2027, 4, 2)))

    assert (first.accounts, first.expired) == (1, 65)
    assert (second.accounts, second.expired) == (0, 0)
    assert snapshot(account) == before
    assert list(account.entries.values_list("kind", "amount")) == [("expire", -65), ("redeem", -35), ("earn", 100)]


def test_one_expire_entry_per_account_per_run_whatever_the_batch_size(db):
    accounts = [MemberFactory().account for _ in range(3)]
    for account in accounts:
        ledger.credit(account, 10, expires_on=date(2027, 3, 2), now=MAR_1)
        ledger.credit(account, 20, expires_on=date(2027, 3, 3), now=MAR_1)

    result = ledger.expire_due(now=at(date(2027, 3, 10)), batch_size=1)

    assert (result.accounts, result.expired) == (3, 90)
    assert Entry.objects.filter(kind=EntryKind.EXPIRE).count() == 3
    assert set(Entry.objects.filter(kind=EntryKind.EXPIRE).values_list("amount", flat=True)) == {-30}
    assert audit(now=at(date(2027, 3, 10)), expiry_grace_days=0) == []


def test_a_debit_never_spends_points_past_their_last_day(account):
    ledger.credit(account, 50, expires_on=date(2027, 3, 5), now=MAR_1)
    ledger.credit(account, 30, expires_on=None, now=MAR_1)

    with pytest.raises(InsufficientPoints):
        ledger.debit(account, 40, now=at(date(2027, 3, 6), 12))

    ledger.debit(account, 30, now=at(date(2027, 3, 6), 12))
    assert list(account.entries.values_list("kind", "amount")) == [
        ("redeem", -30),
        ("expire", -50),
        ("earn", 30),
        ("earn", 50),
    ]


def test_pending_points_become_available_on_their_date_and_not_before(account):
    ledger.credit(account, 60, available_at=MAR_1 + timedelta(days=14), now=MAR_1)
    assert (account.balance, account.pending) == (0, 60)

    assert ledger.release_pending(now=MAR_1 + timedelta(days=13)).released == 0
    with pytest.raises(InsufficientPoints):
        ledger.debit(account, 10, now=MAR_1 + timedelta(days=13))
    assert ledger.release_pending(now=MAR_1 + timedelta(days=14)).released == 60

    account.refresh_from_db()
    assert (account.balance, account.pending) == (60, 0)
    assert audit(now=MAR_1 + timedelta(days=14)) == []


def test_a_debit_releases_the_pending_points_whose_date_came_before_the_hourly_task(account):
    ledger.credit(account, 60, available_at=MAR_1 + timedelta(hours=2), now=MAR_1)

    ledger.debit(account, 60, now=MAR_1 + timedelta(hours=3))

    assert (account.balance, account.pending) == (0, 0)


@pytest.mark.parametrize(
    ("policy_name", "period", "available", "last_day"),
    [
        ("never", 12, date(2026, 1, 15), None),
        ("days", 365, date(2026, 1, 15), date(2027, 1, 15)),
        ("end_of_month", 12, date(2026, 1, 15), date(2027, 1, 31)),
        ("end_of_month", 1, date(2026, 1, 31), date(2026, 2, 28)),
        ("end_of_year", 12, date(2026, 3, 15), date(2027, 12, 31)),
        ("end_of_year", 1, date(2026, 12, 31), date(2027, 12, 31)),
    ],
    ids=["never", "365 days", "end of month a year on", "month-end clamped", "end of year", "year boundary"],
)
def test_the_expiry_policy_sets_the_last_day(policy_name, period, available, last_day):
    with override_settings(LOYALTY_POINTS_EXPIRY_POLICY=policy_name, LOYALTY_POINTS_EXPIRY_PERIOD=period):
        assert policy.expiry_date(at(available, 12)) == last_day


@override_settings(LOYALTY_POINTS_EXPIRY_POLICY="days", LOYALTY_POINTS_EXPIRY_PERIOD=30)
def test_a_credit_follows_the_policy_unless_it_overrides_it(account):
    ledger.credit(account, 10, now=MAR_1)
    ledger.credit(account, 10, expires_on=None, now=MAR_1)
    ledger.credit(account, 10, expires_on=date(2027, 6, 1), now=MAR_1)

    assert list(Lot.objects.order_by("pk").values_list("expires_on", flat=True)) == [
        date(2027, 3, 31),
        None,
        date(2027, 6, 1),
    ]


# Idempotency


@pytest.mark.parametrize(
    "call",
    [
        lambda account: ledger.credit(account, 40, idempotency_key="k", now=MAR_1),
        lambda account: ledger.debit(account, 40, idempotency_key="k", now=MAR_1),
        lambda account: ledger.adjust(account, -40, reason="fix", idempotency_key="k", now=MAR_1),
        lambda account: ledger.reverse(account.entries.earliest("pk"), points=40, idempotency_key="k", now=MAR_1),
    ],
    ids=["credit", "debit", "adjust", "reverse"],
)
def test_the_same_idempotency_key_twice_has_its_effect_once_and_returns_the_same_entry(account, call):
    ledger.credit(account, 100, now=MAR_1)

    first = call(account)
    after_first = snapshot(account)
    second = call(account)

    assert second.pk == first.pk
    assert snapshot(account) == after_first


def test_the_same_key_for_a_different_operation_is_a_conflict_and_writes_nothing(account):
    ledger.credit(account, 100, idempotency_key="order-1", now=MAR_1)
    before = snapshot(account)

    with pytest.raises(IdempotencyConflict):
        ledger.credit(account, 99, idempotency_key="order-1", now=MAR_1)
    with pytest.raises(IdempotencyConflict):
        ledger.debit(account, 100, idempotency_key="order-1", now=MAR_1)

    assert snapshot(account) == before


def test_idempotency_keys_are_per_account(db):
    first, second = MemberFactory().account, MemberFactory().account

    ledger.credit(first, 10, idempotency_key="same", now=MAR_1)
    ledger.credit(second, 10, idempotency_key="same", now=MAR_1)

    assert (first.balance, second.balance) == (10, 10)


# Reversals


def test_reversing_a_debit_gives_the_points_back_to_the_lots_they_came_from(account):
    ledger.credit(account, 50, expires_on=date(2027, 4, 30), now=MAR_1)
    ledger.credit(account, 50, expires_on=date(2027, 5, 31), now=MAR_1)
    redemption = ledger.debit(account, 80, now=MAR_1)

    ledger.reverse(redemption, points=20, now=MAR_1)  # latest taken first: the May lot
    assert list(Lot.objects.order_by("pk").values_list("remaining", flat=True)) == [0, 40]
    ledger.reverse(redemption, now=MAR_1)  # the 60 left
    assert list(Lot.objects.order_by("pk").values_list("remaining", flat=True)) == [50, 50]

    with pytest.raises(NotReversible):
        ledger.reverse(redemption, now=MAR_1)
    account.refresh_from_db()
    assert (account.balance, account.lifetime_spent) == (100, 0)


def test_points_given_back_to_a_lot_past_its_last_day_expire_at_once(account):
    ledger.credit(account, 50, expires_on=date(2027, 3, 10), now=MAR_1)
    redemption = ledger.debit(account, 50, now=MAR_1)

    ledger.reverse(redemption, now=at(date(2027, 3, 20)))

    assert list(account.entries.values_list("kind", "amount")) == [
        ("expire", -50),
        ("reverse", 50),
        ("redeem", -50),
        ("earn", 50),
    ]
    assert account.balance == 0


def test_reversing_a_credit_takes_its_own_lot_first_then_the_soonest_expiring(account):
    earn = ledger.credit(account, 100, expires_on=date(2027, 9, 30), now=MAR_1)
    ledger.credit(account, 100, expires_on=date(2027, 4, 30), now=MAR_1)
    ledger.credit(account, 100, expires_on=date(2027, 6, 30), now=MAR_1)
    ledger.debit(account, 130, now=MAR_1)  # April lot emptied, June lot at 70

    ledger.reverse(earn, now=MAR_1)

    assert list(Lot.objects.order_by("pk").values_list("remaining", flat=True)) == [0, 0, 70]
    account.refresh_from_db()
    assert (account.balance, account.lifetime_earned) == (70, 200)
    assert audit(now=MAR_1) == []


def test_reversing_a_credit_the_member_spent_and_no_longer_holds_is_refused(account):
    earn = ledger.credit(account, 100, now=MAR_1)
    ledger.debit(account, 90, now=MAR_1)
    before = snapshot(account)

    with pytest.raises(InsufficientPoints):
        ledger.reverse(earn, now=MAR_1)

    assert snapshot(account) == before


def test_a_credits_expired_points_are_not_taken_back_twice(account):
    earn = ledger.credit(account, 100, expires_on=date(2027, 3, 5), now=MAR_1)
    ledger.credit(account, 100, expires_on=None, now=MAR_1)
    ledger.expire_due(now=at(date(2027, 3, 6)))

    with pytest.raises(NotReversible, match="0 points"):
        ledger.reverse(earn, now=at(date(2027, 3, 6)))
    account.refresh_from_db()
    assert account.balance == 100


def test_reversing_a_pending_credit_takes_the_pending_points(account):
    earn = ledger.credit(account, 40, available_at=MAR_1 + timedelta(days=7), now=MAR_1)

    ledger.reverse(earn, now=MAR_1)

    account.refresh_from_db()
    assert (account.balance, account.pending) == (0, 0)


@pytest.mark.parametrize("kind", [EntryKind.EXPIRE, EntryKind.REVERSE])
def test_expiries_and_reversals_cannot_be_reversed(account, kind):
    earn = ledger.credit(account, 10, expires_on=date(2027, 3, 2), now=MAR_1)
    if kind == EntryKind.REVERSE:
        ledger.reverse(earn, points=5, now=MAR_1)
    else:
        ledger.expire_due(now=at(date(2027, 3, 3)))
    entry = account.entries.get(kind=kind)
    before = snapshot(account)

    with pytest.raises(NotReversible):
        ledger.reverse(entry, now=at(date(2027, 3, 3)))

    assert snapshot(account) == before


# Validation


@pytest.mark.parametrize(
    "call",
    [
        lambda a: ledger.credit(a, 0),
        lambda a: ledger.credit(a, -5),
        lambda a: ledger.credit(a, True),
        lambda a: ledger.credit(a, 2.5),
        lambda a: ledger.credit(a, 5, EntryKind.REDEEM),
        lambda a: ledger.credit(a, 5, memo="x" * 256),
        lambda a: ledger.credit(a, 5, expires_on=date(2027, 3, 9), available_at=MAR_1 + timedelta(days=10), now=MAR_1),
        lambda a: ledger.debit(a, 5, EntryKind.EARN),
        lambda a: ledger.adjust(a, 0, reason="nothing"),
        lambda a: ledger.adjust(a, 5, reason="  "),
        lambda a: ledger.credit(a, 5, idempotency_key="k" * 256),
    ],
    ids=[
        "zero",
        "negative",
        "bool",
        "float",
        "debit kind",
        "long memo",
        "expires before available",
        "credit kind on debit",
        "zero adjustment",
        "blank reason",
        "long key",
    ],
)
def test_bad_input_is_a_validation_error_and_writes_nothing(account, call):
    ledger.credit(account, 10, now=MAR_1)
    before = snapshot(account)

    with pytest.raises(ValidationError):
        call(account)

    assert snapshot(account) == before


def test_a_debit_beyond_the_balance_writes_nothing(account):
    ledger.credit(account, 10, now=MAR_1)
    before = snapshot(account)

    with pytest.raises(InsufficientPoints, match="Only 10 points are available; 11 were asked for"):
        ledger.debit(account, 11, now=MAR_1)

    assert snapshot(account) == before


# The audit


def test_the_audit_reports_a_corrupted_balance_and_the_command_fails(account):
    ledger.credit(account, 10, now=MAR_1)
    call_command("ledger_audit")  # sound: no error

    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET balance = 11 WHERE id = %s", [account.pk])

    assert len(audit()) == 1
    assert f"account {account.pk}: balance 11" in audit()[0]
    with pytest.raises(CommandError, match="1 problem"):
        call_command("ledger_audit")


def test_the_audit_reports_points_left_past_their_last_day(account):
    ledger.credit(account, 10, expires_on=date(2027, 3, 2), now=MAR_1)

    assert audit(now=at(date(2027, 3, 3))) == []  # the daily run has a day's grace
    assert audit(now=at(date(2027, 3, 5))) == [
        f"lot {Lot.objects.get().pk} of account {account.pk}: "
        "10 points past their last day 2027-03-02 were not expired"
    ]
