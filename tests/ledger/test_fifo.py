from datetime import UTC, date, datetime

from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind, Lot

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
