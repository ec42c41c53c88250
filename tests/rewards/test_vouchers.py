"""Vouchers at a till: used once, by a partner that accepts them, while the member may spend; codes as typed."""

from datetime import timedelta

import pytest

from loyalty.exceptions import (
    AlreadyUsed,
    MemberClosed,
    MemberSuspended,
    NotEligible,
    NotFound,
    VoucherNotUsable,
)
from members.services import member_merge, member_status_change
from rewards.models import Voucher, VoucherStatus
from rewards.services import redemption_create, voucher_cancel, voucher_code_candidates, voucher_use
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory
from tests.rewards.conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    return PartnerFactory(name="Shop")


def issue(member, **reward_fields) -> Voucher:
    reward = RewardFactory(**{"points_cost": 500, "validity_days": 30, **reward_fields})
    return redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW).vouchers[0]


def test_a_voucher_is_used_once_and_records_who_used_it_and_when(member, shop):
    voucher = issue(member)

    used = voucher_use(code=voucher.code, partner=shop, now=NOW + timedelta(hours=1))

    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_by, voucher.used_at) == (VoucherStatus.USED, shop, NOW + timedelta(hours=1))
    assert used.pk == voucher.pk
    with pytest.raises(AlreadyUsed) as error:
        voucher_use(code=voucher.code, partner=shop, now=NOW + timedelta(hours=2))
    assert error.value.details == {"used_at": (NOW + timedelta(hours=1)).isoformat()}
    voucher.refresh_from_db()
    assert voucher.used_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("{code}", id="as-printed"),
        pytest.param("{lower}", id="lower-case"),
        pytest.param("  {spaced}  ", id="spaces-for-dashes"),
        pytest.param("{compact}", id="no-dashes"),
    ],
)
def test_a_code_typed_at_a_till_finds_its_voucher(member, shop, typed):
    voucher = issue(member)
    code = voucher.code
    text = typed.format(code=code, lower=code.lower(), spaced=code.replace("-", " "), compact=code.replace("-", ""))

    assert voucher_use(code=text, partner=shop, now=NOW).pk == voucher.pk


def test_o_i_and_l_typed_for_0_and_1_still_find_a_generated_code():
    assert voucher_code_candidates("0110-abcd-efgh-jkmn")[-1] == "0110-ABCD-EFGH-JKMN"
    assert voucher_code_candidates("o1l0 ABCD EFGH JKMN")[-1] == "0110-ABCD-EFGH-JKMN"
    assert voucher_code_candidates("gift-card-Ab12") == ["gift-card-Ab12", "GIFT-CARD-AB12"]  # a pool's own format
    assert voucher_code_candidates("bad\x00code") == []
    assert voucher_code_candidates("x" * 65) == []


def test_an_unknown_code_is_not_found(member, shop):
    issue(member)

    with pytest.raises(NotFound):
        voucher_use(code="ZZZZ-ZZZZ-ZZZZ-ZZZZ", partner=shop, now=NOW)


@pytest.mark.parametrize(
    ("when", "status"),
    [
        pytest.param(timedelta(days=30), VoucherStatus.EXPIRED, id="past-expiry-before-the-task"),
        pytest.param(None, VoucherStatus.CANCELLED, id="cancelled"),
    ],
)
def test_an_expired_or_cancelled_voucher_is_not_usable(member, shop, when, status):
    voucher = issue(member, cancel_window_hours=24)
    if when is None:
        voucher_cancel(voucher=voucher, now=NOW + timedelta(hours=1))
        when = timedelta(hours=2)

    with pytest.raises(VoucherNotUsable) as error:
        voucher_use(code=voucher.code, partner=shop, now=NOW + when)

    assert error.value.details == {"status": status}
    voucher.refresh_from_db()
    assert (voucher.used_at, voucher.used_by) == (None, None)


def test_a_partner_the_reward_does_not_name_cannot_use_it(member, shop):
    other = PartnerFactory(name="Other")
    voucher = issue(member, partners=[other])

    with pytest.raises(NotEligible) as error:
        voucher_use(code=voucher.code, partner=shop, now=NOW)

    assert error.value.details == {"reason": "partner"}
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ISSUED
    assert voucher_use(code=voucher.code, partner=other, now=NOW).used_by == other


def test_a_suspended_members_voucher_waits_until_the_member_is_active_again(member, shop):
    voucher = issue(member)
    member_status_change(member=member, status="suspended", reason="Fraud check")

    with pytest.raises(MemberSuspended):
        voucher_use(code=voucher.code, partner=shop, now=NOW)

    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ISSUED
    member_status_change(member=member, status="active", reason="Cleared")
    assert voucher_use(code=voucher.code, partner=shop, now=NOW).status == VoucherStatus.USED


def test_a_closed_members_voucher_is_void(member, shop):
    voucher = issue(member)
    member_status_change(member=member, status="closed", reason="Asked to leave")

    with pytest.raises(MemberClosed):
        voucher_use(code=voucher.code, partner=shop, now=NOW)

    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ISSUED


def test_a_merged_members_voucher_is_the_survivors(member, shop):
    voucher = issue(member)
    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, reason="Duplicate card", now=NOW)

    assert voucher_use(code=voucher.code, partner=shop, now=NOW).status == VoucherStatus.USED
