"""The redemption service's core: one debit, one unit of stock, one voucher per unit, all or nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.exceptions import (
    IdempotencyConflict,
    InsufficientPoints,
    LimitReached,
    NotCancellable,
    NotEligible,
    OutOfStock,
)
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from rewards.models import Redemption, RewardKind, Voucher, VoucherStatus
from rewards.services import CODE_ALPHABET, redemption_create, voucher_cancel
from tests.factories.members import MemberFactory
from tests.factories.rewards import CharityFactory, RewardFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def member():
    member = MemberFactory()
    ledger.credit(member.account, 2000, now=NOW - timedelta(days=1))
    return member


def test_a_redemption_debits_takes_stock_and_issues_a_voucher(member):
    reward = RewardFactory(points_cost=500, stock=3, validity_days=30)

    result = redemption_create(member=member, reward=reward, quantity=2, idempotency_key="k1", now=NOW)

    member.account.refresh_from_db()
    reward.refresh_from_db()
    assert (result.created, member.account.balance, reward.stock) == (True, 1000, 1)
    assert result.redemption.entry.kind == EntryKind.REDEEM
    assert result.redemption.entry.amount == -1000
    assert [(v.status, v.points, v.expires_at) for v in result.vouchers] == [
        (VoucherStatus.ISSUED, 500, NOW + timedelta(days=30))
    ] * 2
    code = result.vouchers[0].code
    assert len(code) == 19
    assert set(code.replace("-", "")) <= set(CODE_ALPHABET)
    assert result.vouchers[0].terms["value_amount"] == "5.00"


def test_a_repeat_with_the_same_key_returns_the_first_redemption(member):
    reward = RewardFactory(points_cost=500)
    first = redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW)

    again = redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW)

    member.account.refresh_from_db()
    assert (again.created, again.redemption.pk, member.account.balance) == (False, first.redemption.pk, 1500)
    assert [v.code for v in again.vouchers] == [v.code for v in first.vouchers]
    with pytest.raises(IdempotencyConflict):
        redemption_create(member=member, reward=reward, quantity=2, idempotency_key="k1", now=NOW)


@pytest.mark.parametrize(
    ("reward_values", "error"),
    [
        pytest.param({"points_cost": 2001}, InsufficientPoints, id="too-few-points"),
        pytest.param({"stock": 0}, OutOfStock, id="out-of-stock"),
        pytest.param({"active": False}, NotEligible, id="inactive"),
        pytest.param({"available_from": NOW + timedelta(hours=1)}, NotEligible, id="not-yet"),
        pytest.param({"available_until": NOW}, NotEligible, id="ended"),
    ],
)
def test_a_refused_redemption_writes_nothing(member, reward_values, error):
    reward = RewardFactory(**{"points_cost": 500, **reward_values})
    entries = Entry.objects.count()

    with pytest.raises(error):
        redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW)

    member.account.refresh_from_db()
    reward.refresh_from_db()
    assert (member.account.balance, Entry.objects.count(), Redemption.objects.count(), Voucher.objects.count()) == (
        2000,
        entries,
        0,
        0,
    )
    assert reward.stock == reward_values.get("stock")


def test_the_limit_per_member_counts_units_in_the_period(member):
    reward = RewardFactory(points_cost=100, limit_per_member=2, limit_period="month")
    redemption_create(member=member, reward=reward, quantity=2, idempotency_key="k1", now=NOW)

    with pytest.raises(LimitReached):
        redemption_create(member=member, reward=reward, idempotency_key="k2", now=NOW)
    next_month = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert redemption_create(member=member, reward=reward, idempotency_key="k3", now=next_month).created


def test_a_donation_records_the_gift_to_its_charity_and_issues_no_voucher(member):
    charity = CharityFactory()
    reward = RewardFactory(kind=RewardKind.DONATION, charity=charity, points_cost=1000, value_amount=None)

    result = redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW)

    assert result.vouchers == []
    assert [(d.charity_id, d.points, str(d.amount)) for d in result.donations] == [(charity.pk, 1000, "10.00")]


def test_a_voucher_cancelled_within_its_window_gives_the_points_and_the_unit_back(member):
    reward = RewardFactory(points_cost=500, stock=1, cancel_window_hours=24)
    voucher = redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW).vouchers[0]

    cancelled = voucher_cancel(voucher=voucher, now=NOW + timedelta(hours=23))

    member.account.refresh_from_db()
    reward.refresh_from_db()
    assert (cancelled.status, member.account.balance, reward.stock) == (VoucherStatus.CANCELLED, 2000, 1)
    assert cancelled.reversal.amount == 500
    assert voucher_cancel(voucher=voucher, now=NOW + timedelta(hours=25)).reversal == cancelled.reversal


@pytest.mark.parametrize("hours", [pytest.param(0, id="no-window"), pytest.param(24, id="window-over")])
def test_a_voucher_outside_its_window_cannot_be_cancelled(member, hours):
    reward = RewardFactory(points_cost=500, cancel_window_hours=hours)
    voucher = redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW).vouchers[0]

    with pytest.raises(NotCancellable):
        voucher_cancel(voucher=voucher, now=NOW + timedelta(hours=24))

    member.account.refresh_from_db()
    voucher.refresh_from_db()
    assert (voucher.status, member.account.balance) == (VoucherStatus.ISSUED, 1500)
