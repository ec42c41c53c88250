"""Racing redemptions, uses, cancellations and expiry runs on PostgreSQL, each on its own thread and connection."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.exceptions import AlreadyUsed, InsufficientPoints, NotCancellable, OutOfStock
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind
from loyalty.partners.models import IdempotentResponse
from loyalty.partners.services import presence_code_issue
from rewards.models import Redemption, RewardKind, Voucher, VoucherCode, VoucherStatus
from rewards.services import redemption_create, voucher_cancel, voucher_use, vouchers_expire
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory, partner_key
from tests.factories.rewards import RewardFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def member_with(points: int):
    member = MemberFactory()
    ledger.credit(member.account, points)
    return member


def kinds(outcomes) -> Counter:
    return Counter(type(outcome).__name__ for outcome in outcomes)


def test_50_members_racing_for_10_units_get_exactly_10_vouchers_and_the_others_keep_their_points():
    reward = RewardFactory(points_cost=300, stock=10)
    members = [member_with(1000) for _ in range(50)]

    outcomes = run_together(
        *[
            lambda m=m, n=n: redemption_create(member=m, reward=reward, idempotency_key=f"r{n}")
            for n, m in enumerate(members)
        ]
    )

    assert kinds(outcomes) == {"RedemptionResult": 10, "OutOfStock": 40}
    reward.refresh_from_db()
    assert (reward.stock, Voucher.objects.count()) == (0, 10)
    winners = {o.redemption.member_id for o in outcomes if not isinstance(o, Exception)}
    balances = Counter(
        (m.pk in winners, balance)
        for m, balance in ((m, type(m.account).objects.get(pk=m.account.pk).balance) for m in members)
    )
    assert balances == {(True, 700): 10, (False, 1000): 40}
    assert Entry.objects.filter(kind=EntryKind.REDEEM).count() == 10
    assert audit() == []


def test_20_redemptions_at_once_by_a_member_with_points_for_5_spend_exactly_5():
    reward = RewardFactory(points_cost=100)
    member = member_with(500)

    outcomes = run_together(
        *[lambda n=n: redemption_create(member=member, reward=reward, idempotency_key=f"r{n}") for n in range(20)]
    )

    assert kinds(outcomes) == {"RedemptionResult": 5, "InsufficientPoints": 15}
    assert all(isinstance(o, InsufficientPoints) for o in outcomes if isinstance(o, Exception))
    member.account.refresh_from_db()
    assert (member.account.balance, Voucher.objects.filter(member=member).count()) == (0, 5)
    assert audit() == []


def test_two_tills_using_one_voucher_at_once_one_wins():
    member = member_with(500)
    voucher = redemption_create(member=member, reward=RewardFactory(points_cost=100), idempotency_key="k").vouchers[0]
    tills = [PartnerFactory(), PartnerFactory()]

    outcomes = run_together(*[lambda till=till: voucher_use(code=voucher.code, partner=till) for till in tills])

    assert kinds(outcomes) == {"Voucher": 1, "AlreadyUsed": 1}
    winner = next(o for o in outcomes if isinstance(o, Voucher))
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_by_id) == (VoucherStatus.USED, winner.used_by_id)
    assert next(o for o in outcomes if isinstance(o, AlreadyUsed)).details == {"used_at": voucher.used_at.isoformat()}


def test_two_redemptions_for_the_last_code_of_a_pool_one_gets_it():
    reward = RewardFactory(kind=RewardKind.GIFT_CARD, points_cost=100)
    VoucherCode.objects.create(reward=reward, code="GC-LAST", imported_at=timezone.now())
    members = [member_with(500), member_with(500)]

    outcomes = run_together(
        *[lambda m=m: redemption_create(member=m, reward=reward, idempotency_key="k") for m in members]
    )

    assert kinds(outcomes) == {"RedemptionResult": 1, "OutOfStock": 1}
    assert list(Voucher.objects.values_list("code", flat=True)) == ["GC-LAST"]
    assert sorted(type(m.account).objects.get(pk=m.account.pk).balance for m in members) == [400, 500]
    assert isinstance(next(o for o in outcomes if isinstance(o, Exception)), OutOfStock)


def test_two_expiry_runs_at_once_refund_each_voucher_once():
    members = [member_with(1000) for _ in range(5)]
    reward = RewardFactory(points_cost=200, validity_days=1, refund_on_expiry=True)
    for n, member in enumerate(members):
        redemption_create(member=member, reward=reward, quantity=2, idempotency_key=f"r{n}")
    later = timezone.now() + timedelta(days=2)

    outcomes = run_together(lambda: vouchers_expire(now=later, batch_size=3), lambda: vouchers_expire(now=later))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(outcomes) == 10
    assert Entry.objects.filter(kind=EntryKind.REVERSE).count() == 10
    assert {type(m.account).objects.get(pk=m.account.pk).balance for m in members} == {1000}
    assert audit(now=later) == []


def test_a_cancellation_racing_a_use_either_gives_the_points_back_or_the_voucher_is_used_never_both():
    member = member_with(500)
    reward = RewardFactory(points_cost=100, stock=3, cancel_window_hours=24)
    voucher = redemption_create(member=member, reward=reward, idempotency_key="k").vouchers[0]
    till = PartnerFactory()

    outcomes = run_together(
        lambda: voucher_use(code=voucher.code, partner=till),
        lambda: voucher_cancel(voucher=voucher),
    )

    voucher.refresh_from_db()
    member.account.refresh_from_db()
    reward.refresh_from_db()
    if voucher.status == VoucherStatus.USED:
        assert isinstance(outcomes[1], NotCancellable)
        assert (member.account.balance, reward.stock) == (400, 2)
    else:
        assert voucher.status == VoucherStatus.CANCELLED
        assert (member.account.balance, reward.stock) == (500, 3)
    assert audit() == []


def test_a_till_retrying_a_redemption_while_the_first_runs_redeems_once(client):

    member = member_with(1000)
    reward = RewardFactory(points_cost=300, stock=5)
    key = partner_key(PartnerFactory(), scopes=["rewards:redeem"])[1]
    _row, code = presence_code_issue(member=member)

    def post():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        body = {"member": member.member_number, "reward": reward.pk, "presence_code": code}
        response = api.post("/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-retry")
        return response.status_code, response.json()

    outcomes = run_together(*[post] * 4)

    assert {status for status, _body in outcomes} == {201}
    assert all(body == outcomes[0][1] for _status, body in outcomes)
    assert (Redemption.objects.count(), Voucher.objects.count(), IdempotentResponse.objects.count()) == (1, 1, 1)
    member.account.refresh_from_db()
    reward.refresh_from_db()
    assert (member.account.balance, reward.stock) == (700, 4)
