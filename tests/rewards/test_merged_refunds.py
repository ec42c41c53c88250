"""A merged member's redemption cancelled or refunded after the merge: its points go to the survivor."""

from datetime import timedelta

import pytest

from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind
from members.services import member_merge
from rewards.models import VoucherStatus
from rewards.services import redemption_create, voucher_cancel, vouchers_expire
from tests.factories.members import MemberFactory
from tests.factories.rewards import RewardFactory
from tests.rewards.conftest import NOW

pytestmark = pytest.mark.django_db


def redeem_then_merge(member, **reward_fields):
    reward = RewardFactory(**{"points_cost": 500, "validity_days": 30, "cancel_window_hours": 24, **reward_fields})
    voucher = redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW).vouchers[0]
    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, reason="Duplicate card", now=NOW + timedelta(hours=1))
    survivor.account.refresh_from_db()
    assert survivor.account.balance == 1500
    return voucher, survivor


def test_a_voucher_cancelled_after_the_merge_gives_its_points_to_the_survivor(member):
    voucher, survivor = redeem_then_merge(member)
    voucher.refresh_from_db()

    cancelled = voucher_cancel(voucher=voucher, now=NOW + timedelta(hours=2))

    assert cancelled.status == VoucherStatus.CANCELLED
    survivor.account.refresh_from_db()
    member.account.refresh_from_db()
    assert (survivor.account.balance, member.account.balance) == (2000, 0)
    assert cancelled.reversal.memo_code == "reward_cancelled"
    assert Entry.objects.filter(account=survivor.account, kind=EntryKind.MERGE, amount=500).count() == 1
    assert audit(now=NOW + timedelta(hours=2)) == []


def test_a_voucher_refunded_on_expiry_after_the_merge_gives_its_points_to_the_survivor(member):
    voucher, survivor = redeem_then_merge(member, refund_on_expiry=True)
    later = NOW + timedelta(days=31)

    assert vouchers_expire(now=later) == 1
    assert vouchers_expire(now=later + timedelta(hours=1)) == 0

    voucher.refresh_from_db()
    survivor.account.refresh_from_db()
    assert (voucher.status, voucher.reversal.amount, survivor.account.balance) == (VoucherStatus.EXPIRED, 500, 2000)
    assert audit(now=later) == []
