"""Voucher expiry: set-based in batches; points back only where the reward says so, once however often it runs."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from loyalty.ledger.models import Entry, EntryKind
from members.services import member_status_change
from rewards.models import Voucher, VoucherStatus
from rewards.services import redemption_create, vouchers_expire
from rewards.tasks import expire_vouchers
from tests.factories.rewards import RewardFactory
from tests.helpers import ledger_state
from tests.rewards.conftest import NOW

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=31)


def redeem(member, key="k", quantity=1, **reward_fields):
    reward = RewardFactory(**{"points_cost": 500, "validity_days": 30, "stock": 10, **reward_fields})
    return redemption_create(member=member, reward=reward, quantity=quantity, idempotency_key=key, now=NOW)


def test_an_unused_voucher_expires_without_its_points_nor_its_unit(member):
    result = redeem(member)
    before = ledger_state(member.account)

    assert vouchers_expire(now=LATER) == 1

    voucher = Voucher.objects.get()
    assert (voucher.status, voucher.expired_at, voucher.reversal) == (VoucherStatus.EXPIRED, LATER, None)
    assert ledger_state(member.account) == before
    result.redemption.reward.refresh_from_db()
    assert result.redemption.reward.stock == 9


def test_a_reward_that_refunds_on_expiry_gives_the_points_back_once_however_often_it_runs(member):
    redeem(member, quantity=2, refund_on_expiry=True)

    assert vouchers_expire(now=LATER, batch_size=1) == 2
    assert vouchers_expire(now=LATER + timedelta(hours=1)) == 0

    member.account.refresh_from_db()
    assert member.account.balance == 2000
    reversals = Entry.objects.filter(account=member.account, kind=EntryKind.REVERSE)
    assert sorted(reversals.values_list("amount", "memo_code", "idempotency_key")) == sorted(
        (500, "reward_expired_refunded", f"voucher-expiry:{v.pk}") for v in Voucher.objects.all()
    )
    assert all(v.reversal_id for v in Voucher.objects.all())


def test_only_vouchers_past_their_end_and_still_issued_expire(member):
    redeem(member, key="a", validity_days=30)
    redeem(member, key="b", validity_days=60)

    assert vouchers_expire(now=LATER) == 1

    assert sorted(Voucher.objects.values_list("status", flat=True)) == [VoucherStatus.EXPIRED, VoucherStatus.ISSUED]


def test_a_closed_members_voucher_expires_without_a_refund(member):
    redeem(member, refund_on_expiry=True)
    member_status_change(member=member, status="closed", reason="Left")
    before = ledger_state(member.account)

    assert vouchers_expire(now=LATER) == 1

    assert ledger_state(member.account) == before
    assert Voucher.objects.get().reversal is None


def test_a_suspended_members_refund_comes_back_frozen_with_the_account(member):
    redeem(member, refund_on_expiry=True)
    member_status_change(member=member, status="suspended", reason="Check")

    vouchers_expire(now=LATER)

    member.account.refresh_from_db()
    assert member.account.balance == 2000


def test_the_task_runs_the_service_and_is_on_the_beat_schedule(member):
    # given a voucher that expired an hour ago by the wall clock, which the task reads
    redeem(member, validity_days=1)
    Voucher.objects.update(expires_at=timezone.now() - timedelta(hours=1))

    assert expire_vouchers.run() == 1
    assert expire_vouchers.run() == 0
    assert settings.CELERY_BEAT_SCHEDULE["expire-vouchers-hourly"]["task"] == "rewards.expire_vouchers"
