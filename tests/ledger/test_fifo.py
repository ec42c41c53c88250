from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Allocation, EntryKind, Lot

JAN_10 = datetime(2027, 1, 10, 12, tzinfo=UTC)


def test_a_debit_takes_the_soonest_expiring_lot_first_and_expiry_takes_only_what_is_left(account):
    # given 100 points expiring 31 January and 100 expiring 31 March
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    ledger.credit(account, 100, expires_on=date(2027, 3, 31), now=JAN_10)

    # when 150 are spent
    ledger.debit(account, 150, now=JAN_10)

    # then the January lot is empty and the March lot holds 50
    assert list(Lot.objects.order_by("expires_on").values_list("remaining", flat=True)) == [0, 50]
    assert account.balance == 50

    # expiry on 1 February removes nothing; on 1 April it removes the 50 left
    assert ledger.expire_due(now=datetime(2027, 2, 1, 0, 5, tzinfo=UTC)).expired == 0
    assert ledger.expire_due(now=datetime(2027, 4, 1, 0, 5, tzinfo=UTC)).expired == 50
    account.refresh_from_db()
    assert account.balance == 0
    assert list(account.entries.values_list("kind", "amount")) == [
        (EntryKind.EXPIRE, -50),
        (EntryKind.REDEEM, -150),
        (EntryKind.EARN, 100),
        (EntryKind.EARN, 100),
    ]


def test_a_debit_larger_than_one_page_of_lots_takes_from_the_next_page_in_expiry_order(account):
    # given 70 lots of 1 point (more than one page of 64), expiring one day apart, latest first
    for day in range(70, 0, -1):
        ledger.credit(account, 1, expires_on=date(2027, 3, 1) + timedelta(days=day), now=JAN_10)

    # when 66 points are spent
    ledger.debit(account, 66, now=JAN_10)

    # then the 66 soonest expiring lots are empty and the 4 latest are whole
    remaining = list(Lot.objects.order_by("expires_on").values_list("remaining", flat=True))
    assert remaining == [0] * 66 + [1] * 4
    assert Allocation.objects.count() == 66


def test_a_debit_at_a_time_given_in_another_time_zone_releases_the_points_whose_date_has_come(account):
    # given 50 points pending until 20 January 09:00 UTC
    ledger.credit(account, 50, available_at=datetime(2027, 1, 20, 9, tzinfo=UTC), expires_on=None, now=JAN_10)

    # when 50 are spent at 04:30 in New York (09:30 UTC)
    ledger.debit(account, 50, now=datetime(2027, 1, 20, 4, 30, tzinfo=ZoneInfo("America/New_York")))

    # then they had been released first
    account.refresh_from_db()
    assert (account.balance, account.pending) == (0, 0)


@pytest.mark.postgres
def test_on_postgresql_a_credit_and_a_debit_each_write_in_one_statement(account, django_assert_num_queries):
    ledger.credit(account, 100, now=JAN_10)

    # a savepoint, the lock, one statement, the release; then, for earned points, which count
    # towards tiers (members/tiers): the qualifying day and the tiers (none here)
    with django_assert_num_queries(6):
        ledger.credit(account, 10, now=JAN_10)
    # a credit that does not qualify (an adjustment): its Adjustment, and nothing for tiers (the
    # first adjustment also looks up the Adjustment content type, cached afterwards)
    ledger.adjust(account, 5, reason="Goodwill", now=JAN_10)
    with django_assert_num_queries(5):
        ledger.adjust(account, 5, reason="Goodwill", now=JAN_10)
    # a savepoint, the lock, the first page of lots (which says nothing is due), one statement, the release
    with django_assert_num_queries(5):
        ledger.debit(account, 5, now=JAN_10)

    account.refresh_from_db()
    assert account.balance == 115
    assert list(account.entries.order_by("pk").values_list("kind", "amount", "balance_after")) == [
        (EntryKind.EARN, 100, 100),
        (EntryKind.EARN, 10, 110),
        (EntryKind.ADJUST, 5, 115),
        (EntryKind.ADJUST, 5, 120),
        (EntryKind.REDEEM, -5, 115),
    ]
    assert list(Allocation.objects.values_list("lot__entry__amount", "points")) == [(100, -5)]


def test_an_accounts_updated_at_is_the_time_of_the_operation(account):
    ledger.credit(account, 100, now=JAN_10)
    ledger.debit(account, 10, now=JAN_10 + timedelta(hours=1))

    account.refresh_from_db()
    assert account.updated_at == JAN_10 + timedelta(hours=1)


def test_the_write_applies_every_move_even_two_to_one_lot(account):
    """No caller moves one lot twice today; the one-statement write must still add both."""
    from django.db import transaction

    from loyalty.ledger import lock_objects
    from loyalty.ledger.services import _record

    ledger.credit(account, 100, now=JAN_10)
    lot = Lot.objects.get()
    with transaction.atomic():
        locked = lock_objects.account_for_update(account.pk)
        locked.balance -= 20
        locked.lifetime_spent += 20
        _record(
            locked,
            kind=EntryKind.REDEEM,
            amount=-20,
            now=JAN_10,
            actor=None,
            cause=None,
            memo="",
            key=None,
            moves=[(lot.pk, -10), (lot.pk, -10)],
        )

    lot.refresh_from_db()
    assert lot.remaining == 80
    assert sorted(Allocation.objects.values_list("points", flat=True)) == [-10, -10]
