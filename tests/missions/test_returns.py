"""A return that undoes a step undoes the progress, and reverses a prize already paid under the return policy."""

import pytest

from campaigns.models import ReturnPolicy
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from missions.badges.models import Badge, MemberBadge
from missions.models import MissionCompletion, MissionProgress, StepKind
from rewards.models import VoucherStatus
from tests.factories.campaigns import NOW, earning_policy_set, item, purchase_post, return_post
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory
from tests.factories.rewards import RewardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory()


def test_a_full_return_undoes_the_count_and_takes_the_prize_points_back(member):
    mission = MissionFactory(steps=[{"count": 2}], prize_points=50, budget_points=1_000)
    purchase_post(member)
    second = purchase_post(member)
    assert MissionCompletion.objects.filter(reversed_at=None).count() == 1

    return_post(second, items=[(1, 1)])

    completion = MissionCompletion.objects.get()
    assert completion.reversed_at is not None
    assert completion.reversal.amount == -50
    member.account.refresh_from_db()
    assert member.account.balance == 10
    progress = MissionProgress.objects.get()
    assert progress.completed_at is None
    assert progress.values == {str(mission.steps.get().pk): 1}
    mission.refresh_from_db()
    assert (mission.points_paid, mission.completions) == (0, 0)

    purchase_post(member)  # completes again
    assert MissionCompletion.objects.filter(reversed_at=None).count() == 1


def test_a_partial_return_keeps_the_purchase_but_not_the_spend_given_back(member):
    MissionFactory(steps=[{"kind": StepKind.SPEND, "amount": "20.00"}], prize_points=5)
    bought = purchase_post(member, item(quantity="2", unit_price="10.00"))
    assert MissionCompletion.objects.filter(reversed_at=None).count() == 1

    return_post(bought, items=[(1, 1)])

    assert MissionCompletion.objects.filter(reversed_at=None).count() == 0
    assert list(MissionProgress.objects.values_list("values", flat=True))[0].popitem()[1] == "10.00"


def test_a_return_of_a_line_outside_the_steps_changes_nothing(member):
    MissionFactory(steps=[{"kind": StepKind.CATEGORY, "category": "coffee"}])
    bought = purchase_post(member, item(category="coffee"), item(sku="TEA", category="tea"))

    return_post(bought, items=[("TEA", 1)])

    assert MissionCompletion.objects.get().reversed_at is None


def test_prize_points_already_spent_become_a_debt_under_the_default_policy(member):
    MissionFactory(prize_points=50)
    bought = purchase_post(member)
    ledger.debit(member.account, 60, now=NOW)  # everything

    return_post(bought, items=[(1, 1)])

    completion = MissionCompletion.objects.get()
    assert (completion.reversal.amount, completion.reversal.debt, completion.shortfall) == (0, 50, 50)
    member.account.refresh_from_db()
    assert member.account.debt == 60  # the purchase's 10 and the prize's 50


def test_prize_points_already_spent_are_written_off_under_a_write_off_policy(member):
    earning_policy_set(return_policy=ReturnPolicy.WRITE_OFF)
    MissionFactory(prize_points=50)
    bought = purchase_post(member)
    ledger.debit(member.account, 60, now=NOW)

    return_post(bought, items=[(1, 1)])

    member.account.refresh_from_db()
    assert member.account.debt == 0
    assert MissionCompletion.objects.get().shortfall == 50
    assert Entry.objects.filter(kind=EntryKind.WRITE_OFF).count() == 2


def test_a_voucher_prize_is_cancelled_and_a_badge_taken_back(member):
    reward = RewardFactory(stock=3)
    badge = Badge.objects.create(code="b", name="B")
    MissionFactory(prize_points=0, prize_reward=reward, prize_badge=badge)
    bought = purchase_post(member)

    return_post(bought, items=[(1, 1)])

    completion = MissionCompletion.objects.select_related("voucher").get()
    assert completion.voucher.status == VoucherStatus.CANCELLED
    reward.refresh_from_db()
    assert reward.stock == 3
    assert not MemberBadge.objects.filter(member=member).exists()


def test_a_streak_broken_by_a_return_is_counted_again(member):
    from datetime import timedelta

    MissionFactory(steps=[{"kind": StepKind.STREAK, "count": 2}])
    first = purchase_post(member, occurred_at=NOW)
    purchase_post(member, occurred_at=NOW + timedelta(days=1), now=NOW + timedelta(days=1))
    assert MissionCompletion.objects.filter(reversed_at=None).count() == 1

    return_post(first, items=[(1, 1)], now=NOW + timedelta(days=1))

    assert MissionCompletion.objects.filter(reversed_at=None).count() == 0
    assert list(MissionProgress.objects.get().values.values())[0]["longest"] == 1
