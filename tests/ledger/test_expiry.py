"""Expiry and release: lots count through their last day (program time zone) and no longer."""

from datetime import UTC, date, datetime

import pytest
from django.test import override_settings

from loyalty.exceptions import InsufficientPoints
from loyalty.ledger import policy
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind, Lot
from loyalty.ledger.services import SettleResult
from tests.factories.members import MemberFactory

JAN_10 = datetime(2027, 1, 10, 12, tzinfo=UTC)
JAN_31_LAST_MINUTE = datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC)
FEB_1_MIDNIGHT = datetime(2027, 2, 1, 0, 0, tzinfo=UTC)


def history(account):
    return list(account.entries.order_by("pk").values_list("kind", "amount", "balance_after"))


def test_a_lot_still_counts_on_its_last_day_and_expires_the_day_after(account):
    # given 100 points whose last day is 31 January
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)

    # when expiry runs in the last second of 31 January
    # then nothing expires
    assert ledger.expire_due(now=JAN_31_LAST_MINUTE) == SettleResult()
    account.refresh_from_db()
    assert account.balance == 100

    # when it runs at midnight on 1 February
    # then the 100 points expire with one entry
    assert ledger.expire_due(now=FEB_1_MIDNIGHT) == SettleResult(accounts=1, released=0, expired=100)
    account.refresh_from_db()
    assert (account.balance, account.lifetime_expired) == (0, 100)
    assert history(account) == [(EntryKind.EARN, 100, 100), (EntryKind.EXPIRE, -100, 0)]
    assert list(Lot.objects.values_list("remaining", "expired")) == [(0, 100)]


@override_settings(TIME_ZONE="America/New_York")
def test_the_last_day_is_counted_in_the_program_time_zone(account):
    # given 100 points whose last day is 31 January, in New York
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)

    # when expiry runs at 04:59 UTC on 1 February (23:59 on 31 January in New York)
    # then nothing expires; at 05:00 UTC (midnight in New York) the points do
    assert ledger.expire_due(now=datetime(2027, 2, 1, 4, 59, tzinfo=UTC)).expired == 0
    assert ledger.expire_due(now=datetime(2027, 2, 1, 5, 0, tzinfo=UTC)).expired == 100
    account.refresh_from_db()
    assert account.balance == 0


def test_partial_spending_expires_only_the_remainder(account):
    # given 100 points expiring 31 January of which 30 were spent
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.debit(account, 30, now=JAN_10)

    # when expiry runs on 1 February
    result = ledger.expire_due(now=FEB_1_MIDNIGHT)

    # then the 70 left expire, and the lot keeps its history
    assert result == SettleResult(accounts=1, released=0, expired=70)
    account.refresh_from_db()
    assert (account.balance, account.lifetime_spent, account.lifetime_expired) == (0, 30, 70)
    assert list(Lot.objects.values_list("amount", "remaining", "expired")) == [(100, 0, 70)]
    assert history(account) == [(EntryKind.EARN, 100, 100), (EntryKind.REDEEM, -30, 70), (EntryKind.EXPIRE, -70, 0)]


def test_running_expiry_twice_changes_nothing_the_second_time(account):
    # given points that expired and an expiry run that took them
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.credit(account, 40, expires_on=None, now=JAN_10)
    ledger.expire_due(now=FEB_1_MIDNIGHT)
    entries_before = history(account)

    # when expiry runs again, the same day and a year later
    again = ledger.expire_due(now=FEB_1_MIDNIGHT)
    much_later = ledger.expire_due(now=datetime(2028, 6, 1, tzinfo=UTC))

    # then it finds nothing and writes no second entry
    assert again == much_later == SettleResult()
    assert history(account) == entries_before
    account.refresh_from_db()
    assert (account.balance, account.lifetime_expired) == (40, 100)


def test_one_expiry_run_writes_one_entry_per_account_for_all_its_due_lots(account):
    # given three lots with different last days, two of them past by 1 March, and one that never expires
    ledger.credit(account, 10, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.credit(account, 20, expires_on=date(2027, 2, 27), now=JAN_10)
    ledger.credit(account, 40, expires_on=date(2027, 3, 1), now=JAN_10)
    ledger.credit(account, 80, expires_on=None, now=JAN_10)

    # when expiry runs on 1 March
    result = ledger.expire_due(now=datetime(2027, 3, 1, 0, 5, tzinfo=UTC))

    # then one entry takes both due lots
    assert result == SettleResult(accounts=1, released=0, expired=30)
    assert account.entries.filter(kind=EntryKind.EXPIRE).get().amount == -30
    assert list(Lot.objects.order_by("pk").values_list("remaining", flat=True)) == [0, 0, 40, 80]


@pytest.mark.parametrize("batch_size", [1, 2, 1000], ids=["batches of 1", "batches of 2", "one batch"])
def test_expiry_in_batches_gives_the_same_result_as_one_batch(db, batch_size):
    # given three accounts with due points, and one with points still good
    accounts = [MemberFactory().account for _ in range(4)]
    for points, account in zip([10, 20, 30], accounts, strict=False):
        ledger.credit(account, points, expires_on=date(2027, 1, 31), now=JAN_10)
        ledger.credit(account, 5, expires_on=date(2027, 12, 31), now=JAN_10)
    ledger.credit(accounts[3], 7, expires_on=date(2027, 12, 31), now=JAN_10)

    # when expiry runs in batches
    result = ledger.expire_due(now=FEB_1_MIDNIGHT, batch_size=batch_size)

    # then every due account lost exactly its due points, with one entry each
    assert result == SettleResult(accounts=3, released=0, expired=60)
    for account in accounts:
        account.refresh_from_db()
    assert [a.balance for a in accounts] == [5, 5, 5, 7]
    assert list(
        Entry.objects.filter(kind=EntryKind.EXPIRE).order_by("account_id").values_list("account_id", "amount")
    ) == [(accounts[0].pk, -10), (accounts[1].pk, -20), (accounts[2].pk, -30)]


def test_pending_points_are_released_when_their_date_comes_and_not_before(account):
    # given 50 points that become available on 20 January
    available_at = datetime(2027, 1, 20, 9, tzinfo=UTC)
    ledger.credit(account, 50, available_at=available_at, expires_on=None, now=JAN_10)
    account.refresh_from_db()
    assert (account.balance, account.pending) == (0, 50)

    # when release runs one second early
    # then nothing is released
    assert ledger.release_pending(now=datetime(2027, 1, 20, 8, 59, 59, tzinfo=UTC)) == SettleResult()
    account.refresh_from_db()
    assert (account.balance, account.pending) == (0, 50)

    # when it runs on time
    # then the points become spendable, without a new entry
    assert ledger.release_pending(now=available_at) == SettleResult(accounts=1, released=50, expired=0)
    account.refresh_from_db()
    assert (account.balance, account.pending) == (50, 0)
    assert list(Lot.objects.values_list("pending", flat=True)) == [False]
    assert history(account) == [(EntryKind.EARN, 50, 0)]
    assert ledger.release_pending(now=available_at) == SettleResult()


def test_pending_points_cannot_be_spent_before_their_date(account):
    # given 50 points pending until 20 January
    ledger.credit(account, 50, available_at=datetime(2027, 1, 20, tzinfo=UTC), expires_on=None, now=JAN_10)

    # when the member tries to spend them on 19 January
    with pytest.raises(InsufficientPoints):
        ledger.debit(account, 10, now=datetime(2027, 1, 19, tzinfo=UTC))

    # then nothing changed
    account.refresh_from_db()
    assert (account.balance, account.pending) == (0, 50)
    assert account.entries.count() == 1


def test_a_debit_first_releases_the_points_whose_date_has_come(account):
    # given 50 points pending until 20 January, which no release run has made available yet
    ledger.credit(account, 50, available_at=datetime(2027, 1, 20, tzinfo=UTC), expires_on=None, now=JAN_10)

    # when the member spends 30 on 21 January
    ledger.debit(account, 30, now=datetime(2027, 1, 21, tzinfo=UTC))

    # then the account was settled first
    account.refresh_from_db()
    assert (account.balance, account.pending) == (20, 0)
    assert history(account) == [(EntryKind.EARN, 50, 0), (EntryKind.REDEEM, -30, 20)]


def test_a_debit_cannot_spend_points_past_their_last_day_that_expiry_has_not_taken_yet(account):
    # given 100 points whose last day was 31 January, not yet expired by the daily run, and 20 still good
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.credit(account, 20, expires_on=None, now=JAN_10)

    # when the member tries to spend 50 on 1 February
    with pytest.raises(InsufficientPoints):
        ledger.debit(account, 50, now=FEB_1_MIDNIGHT)

    # then nothing was written; spending 20 settles the expiry first
    account.refresh_from_db()
    assert (account.balance, account.entries.count()) == (120, 2)
    ledger.debit(account, 20, now=FEB_1_MIDNIGHT)
    account.refresh_from_db()
    assert history(account) == [
        (EntryKind.EARN, 100, 100),
        (EntryKind.EARN, 20, 120),
        (EntryKind.EXPIRE, -100, 20),
        (EntryKind.REDEEM, -20, 0),
    ]


def test_a_pending_credit_takes_its_policy_expiry_from_the_day_it_becomes_available(account):
    # given the default policy, end of the month twelve months on
    with override_settings(LOYALTY_POINTS_EXPIRY_POLICY="end_of_month", LOYALTY_POINTS_EXPIRY_PERIOD=12):
        # when points earned on 10 January become available on 2 February
        ledger.credit(account, 10, available_at=datetime(2027, 2, 2, tzinfo=UTC), now=JAN_10)

    # then they count until the end of February a year later
    assert Lot.objects.get().expires_on == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("expiry_policy", "period", "available_on", "last_day"),
    [
        ("never", 12, date(2026, 1, 15), None),
        ("days", 30, date(2026, 1, 15), date(2026, 2, 14)),
        ("days", 365, date(2027, 3, 1), date(2028, 2, 29)),
        ("end_of_month", 12, date(2026, 1, 15), date(2027, 1, 31)),
        ("end_of_month", 1, date(2026, 1, 31), date(2026, 2, 28)),
        ("end_of_month", 1, date(2028, 1, 31), date(2028, 2, 29)),
        ("end_of_month", 3, date(2026, 11, 30), date(2027, 2, 28)),
        ("end_of_month", 1, date(2026, 12, 31), date(2027, 1, 31)),
        ("end_of_year", 12, date(2026, 1, 15), date(2027, 12, 31)),
        ("end_of_year", 1, date(2026, 12, 31), date(2027, 12, 31)),
        ("end_of_year", 1, date(2026, 11, 30), date(2026, 12, 31)),
    ],
    ids=[
        "never",
        "30 days",
        "365 days over a leap day",
        "end of month 12 months on",
        "31 January plus 1 month is the end of February",
        "31 January plus 1 month in a leap year",
        "30 November plus 3 months",
        "December plus 1 month crosses the year",
        "end of year 12 months on",
        "31 December plus 1 month is the end of next year",
        "30 November plus 1 month stays in the year",
    ],
)
def test_the_expiry_policy_gives_the_last_day(expiry_policy, period, available_on, last_day):
    available_at = datetime(available_on.year, available_on.month, available_on.day, 10, tzinfo=UTC)

    with override_settings(LOYALTY_POINTS_EXPIRY_POLICY=expiry_policy, LOYALTY_POINTS_EXPIRY_PERIOD=period):
        assert policy.expiry_date(available_at) == last_day


@override_settings(TIME_ZONE="Asia/Tokyo", LOYALTY_POINTS_EXPIRY_POLICY="days", LOYALTY_POINTS_EXPIRY_PERIOD=30)
def test_the_expiry_policy_counts_from_the_day_in_the_program_time_zone():
    # 23:30 UTC on 15 January is already 16 January in Tokyo
    assert policy.expiry_date(datetime(2026, 1, 15, 23, 30, tzinfo=UTC)) == date(2026, 2, 15)


def test_a_pending_lot_whose_date_came_and_whose_last_day_passed_is_released_and_expired_in_one_run(account):
    # given 50 points pending until 20 January whose last day is 20 January, and 30 that never expire
    ledger.credit(
        account, 50, available_at=datetime(2027, 1, 20, 9, tzinfo=UTC), expires_on=date(2027, 1, 20), now=JAN_10
    )
    ledger.credit(account, 30, expires_on=None, now=JAN_10)

    # when expiry runs on 21 January, before any release run
    result = ledger.expire_due(now=datetime(2027, 1, 21, tzinfo=UTC))

    # then the 50 were released and expired at once, from the balance, with one entry
    assert result == SettleResult(accounts=1, released=50, expired=50)
    account.refresh_from_db()
    assert (account.balance, account.pending, account.lifetime_expired) == (30, 0, 50)
    assert history(account) == [(EntryKind.EARN, 50, 0), (EntryKind.EARN, 30, 30), (EntryKind.EXPIRE, -50, 30)]
    assert list(Lot.objects.order_by("pk").values_list("pending", "remaining", "expired")) == [
        (False, 0, 50),
        (False, 30, 0),
    ]


@pytest.mark.postgres
def test_on_postgresql_each_batch_is_settled_in_one_statement_after_its_lock(db, django_assert_num_queries):
    # given three accounts with due points
    for _ in range(3):
        ledger.credit(MemberFactory().account, 10, expires_on=date(2027, 1, 31), now=JAN_10)

    # when expiry runs in batches of two
    # then each batch runs: a savepoint, the next accounts, their lock, one statement, its points.expired
    # events (one INSERT ... SELECT), the release; and one more savepoint, look-up and release find nothing left
    with django_assert_num_queries(2 * 6 + 3):
        result = ledger.expire_due(now=FEB_1_MIDNIGHT, batch_size=2)

    assert result == SettleResult(accounts=3, released=0, expired=30)
    assert Entry.objects.filter(kind=EntryKind.EXPIRE).count() == 3
