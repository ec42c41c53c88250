"""The voucher expiry task, run by a real worker process on Redis against the test database."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from django.utils import timezone

from loyalty.ledger import services as ledger
from rewards.models import Voucher, VoucherStatus
from rewards.services import redemption_create
from tests.factories.members import MemberFactory
from tests.factories.rewards import RewardFactory
from tests.ledger.test_tasks import redis_broker, worker  # noqa: F401  (the fixtures)


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_expires_vouchers_and_refunds_end_to_end(worker, redis_broker):  # noqa: F811
    # given a voucher of a reward that refunds on expiry, past its end
    member = MemberFactory()
    ledger.credit(member.account, 800)
    reward = RewardFactory(points_cost=500, validity_days=1, refund_on_expiry=True)
    redemption_create(member=member, reward=reward, idempotency_key="k")
    Voucher.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    # when the scheduled task is sent through Redis to a worker
    Celery(broker=redis_broker, set_as_current=False).send_task("rewards.expire_vouchers", queue=worker)

    # then the worker expires it and the points come back
    deadline = time.monotonic() + 60
    while Voucher.objects.filter(status=VoucherStatus.ISSUED).exists():
        assert time.monotonic() < deadline, "the worker did not expire the voucher within 60 s"
        time.sleep(0.2)
    member.account.refresh_from_db()
    assert member.account.balance == 800
