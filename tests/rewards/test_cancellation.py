"""Cancelling: within the reward's window, all the vouchers of a redemption or none, the points back to their lots."""

from datetime import date, timedelta

import pytest
from django.utils import translation

from loyalty.exceptions import NotCancellable, NotFound
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from rewards.models import VoucherStatus
from rewards.services import redemption_cancel, redemption_create, voucher_cancel, voucher_use
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import CharityFactory, RewardFactory
from tests.helpers import ledger_state
from tests.rewards.conftest import NOW

pytestmark = pytest.mark.django_db


def redeem(member, quantity=2, **reward_fields):
    reward = RewardFactory(**{"points_cost": 500, "stock": 5, "cancel_window_hours": 24, **reward_fields})
    return reward, redemption_create(member=member, reward=reward, quantity=quantity, idempotency_key="k", now=NOW)


@pytest.mark.parametrize(
    ("hours", "cancellable"),
    [
        pytest.param(0, True, id="at-once"),
        pytest.param(23.99, True, id="just-inside"),
        pytest.param(24, False, id="at-the-end"),
        pytest.param(48, False, id="long-after"),
    ],
)
def test_the_window_counts_from_the_redemption(member, hours, cancellable):
    _reward, result = redeem(member, quantity=1)
    voucher = result.vouchers[0]

    if cancellable:
        assert voucher_cancel(voucher=voucher, now=NOW + timedelta(hours=hours)).status == VoucherStatus.CANCELLED
    else:
        with pytest.raises(NotCancellable) as error:
            voucher_cancel(voucher=voucher, now=NOW + timedelta(hours=hours))
        assert error.value.details == {"window_ends": (NOW + timedelta(hours=24)).isoformat()}


def test_a_redemption_cancelled_gives_every_point_and_unit_back(member):
    reward, result = redeem(member)

    vouchers = redemption_cancel(redemption=result.redemption, now=NOW + timedelta(hours=1))

    member.account.refresh_from_db()
    reward.refresh_from_db()
    assert [v.status for v in vouchers] == [VoucherStatus.CANCELLED] * 2
    assert (member.account.balance, reward.stock) == (2000, 5)
    reversals = Entry.objects.filter(account=member.account, kind=EntryKind.REVERSE).order_by("pk")
    assert [(e.amount, e.reverses_id, e.memo_code) for e in reversals] == [
        (500, result.redemption.entry_id, "reward_cancelled")
    ] * 2
    again = redemption_cancel(redemption=result.redemption, now=NOW + timedelta(hours=30))
    assert [v.reversal_id for v in again] == [v.reversal_id for v in vouchers]


def test_one_used_voucher_keeps_the_whole_redemption(member):
    reward, result = redeem(member)
    voucher_use(code=result.vouchers[1].code, partner=PartnerFactory(), now=NOW)
    before = ledger_state(member.account)

    with pytest.raises(NotCancellable) as error:
        redemption_cancel(redemption=result.redemption, now=NOW + timedelta(hours=1))

    assert error.value.details == {"status": VoucherStatus.USED}
    assert ledger_state(member.account) == before
    reward.refresh_from_db()
    assert reward.stock == 3
    assert [v.status for v in result.redemption.vouchers.order_by("pk")] == [VoucherStatus.ISSUED, VoucherStatus.USED]


def test_a_reward_without_a_window_and_a_donation_cannot_be_cancelled(member):
    _reward, result = redeem(member, quantity=1, cancel_window_hours=0)
    charity = CharityFactory()
    donation = RewardFactory(kind="donation", charity=charity, points_cost=100, value_amount=None)
    gift = redemption_create(member=member, reward=donation, idempotency_key="d", now=NOW)

    with pytest.raises(NotCancellable):
        redemption_cancel(redemption=result.redemption, now=NOW)
    with pytest.raises(NotCancellable):
        redemption_cancel(redemption=gift.redemption, now=NOW)


def test_a_partner_cancels_only_its_own_redemptions(member):
    shop, other = PartnerFactory(), PartnerFactory()
    from loyalty.partners.services import presence_code_check, presence_code_issue

    _row, code = presence_code_issue(member=member)
    proof = presence_code_check(member=member, code=code)
    reward = RewardFactory(points_cost=500, cancel_window_hours=24)
    result = redemption_create(member=member, reward=reward, partner=shop, proof=proof, idempotency_key="k")

    with pytest.raises(NotFound):
        redemption_cancel(redemption=result.redemption, partner=other)
    assert [v.status for v in redemption_cancel(redemption=result.redemption, partner=shop)] == ["cancelled"]


def test_the_points_go_back_to_the_lots_they_came_from_with_their_expiry(db):
    member = MemberFactory()
    ledger.credit(member.account, 300, expires_on=date(2027, 1, 31), now=NOW - timedelta(days=2))
    ledger.credit(member.account, 700, expires_on=date(2027, 12, 31), now=NOW - timedelta(days=1))
    _reward, result = redeem(member, quantity=1, points_cost=500)

    voucher_cancel(voucher=result.vouchers[0], now=NOW + timedelta(hours=1))

    lots = member.account.lots.order_by("expires_on").values_list("expires_on", "remaining")
    assert list(lots) == [(date(2027, 1, 31), 300), (date(2027, 12, 31), 700)]


def test_the_history_says_which_voucher_was_cancelled_in_the_readers_language(member):
    _reward, result = redeem(member, quantity=1, name="Free coffee", name_fr="Café offert")

    cancelled = voucher_cancel(voucher=result.vouchers[0], now=NOW + timedelta(hours=1))

    assert cancelled.reversal.memo_display == "Voucher cancelled, points back: Free coffee"
    with translation.override("fr"):
        assert "Café offert" in cancelled.reversal.memo_display
