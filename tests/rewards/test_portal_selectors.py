"""The portal's reads of rewards: what the catalog says of each reward, and what a member may do with a voucher."""

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.ledger import services as ledger
from rewards.models import RewardKind, VoucherCode, VoucherStatus
from rewards.selectors import reward_catalog_get, reward_for_member_get, rewards_affordable_count, voucher_state
from rewards.services import redemption_create
from tests.factories.members import MemberFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import MemberTierFactory, TierFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def member():
    member = MemberFactory()
    ledger.credit(member.account, 1000, now=NOW - timedelta(days=1))
    member.account.refresh_from_db()
    return member


@pytest.mark.parametrize(
    ("cost", "missing", "progress"),
    [(1, 0, 100), (1000, 0, 100), (1001, 1, 99), (3000, 2000, 33), (1_000_000, 999_000, 0)],
)
def test_the_progress_is_the_balance_as_a_share_of_the_cost_rounded_down(member, cost, missing, progress):
    RewardFactory(points_cost=cost)

    [item] = reward_catalog_get(member=member, now=NOW)

    assert (item.affordable, item.missing, item.progress) == (missing == 0, missing, progress)


def test_the_dates_bound_the_catalog_at_the_moment_asked(member):
    RewardFactory(code="from", available_from=NOW)
    RewardFactory(code="until", available_until=NOW + timedelta(seconds=1))
    RewardFactory(code="ended", available_until=NOW)
    RewardFactory(code="soon", available_from=NOW + timedelta(seconds=1))

    assert sorted(item.reward.code for item in reward_catalog_get(member=member, now=NOW)) == ["from", "until"]
    assert reward_for_member_get(member=member, code="ended", now=NOW) is None


def test_a_reward_with_stock_and_a_pool_has_the_lesser_left(member):
    reward = RewardFactory(kind=RewardKind.GIFT_CARD, stock=5)
    for number in range(3):
        VoucherCode.objects.create(reward=reward, code=f"C{number}", imported_at=NOW)

    assert reward_for_member_get(member=member, code=reward.code, now=NOW).units_left == 3


def test_the_dashboards_count_is_what_the_catalogs_filter_lists(member):
    gold, silver = TierFactory(), TierFactory()
    MemberTierFactory(member=member, tier=silver)
    RewardFactory(code="everyone", points_cost=500)
    RewardFactory(code="silver", points_cost=500, tiers=[silver, gold])
    RewardFactory(code="gold", points_cost=500, tiers=[gold])
    RewardFactory(code="dear", points_cost=1001)
    RewardFactory(code="none-left", points_cost=1, stock=0)
    RewardFactory(code="some-left", points_cost=1, stock=1)
    empty_pool = RewardFactory(code="empty-pool", kind=RewardKind.GIFT_CARD, points_cost=1)
    VoucherCode.objects.create(reward=empty_pool, code="TAKEN", imported_at=NOW, taken_at=NOW)
    full_pool = RewardFactory(code="full-pool", kind=RewardKind.GIFT_CARD, points_cost=1)
    VoucherCode.objects.create(reward=full_pool, code="FREE", imported_at=NOW)

    listed = sorted(item.reward.code for item in reward_catalog_get(member=member, affordable=True, now=NOW))

    assert listed == ["everyone", "full-pool", "silver", "some-left"]
    assert rewards_affordable_count(member=member, now=NOW) == 4


def voucher_of(member, *, window: int = 0, validity_days: int | None = None):
    reward = RewardFactory(points_cost=10, cancel_window_hours=window, validity_days=validity_days)
    [voucher] = redemption_create(member=member, reward=reward, idempotency_key=str(reward.pk), now=NOW).vouchers
    voucher.refresh_from_db()  # as the selectors read it, reward and redemption joined
    return voucher


@pytest.mark.parametrize(
    ("later", "status", "cancellable"),
    [
        pytest.param(timedelta(0), "issued", True, id="at-once"),
        pytest.param(timedelta(hours=24) - timedelta(seconds=1), "issued", True, id="last-second"),
        pytest.param(timedelta(hours=24), "issued", False, id="window-over"),
        pytest.param(timedelta(days=2), "expired", False, id="past-expiry"),
    ],
)
def test_a_voucher_can_be_cancelled_within_the_window_while_it_is_valid(member, later, status, cancellable):
    voucher = voucher_of(member, window=24, validity_days=2)

    state = voucher_state(voucher, now=NOW + later)

    assert (state.status, state.cancel_until) == (status, NOW + timedelta(hours=24) if cancellable else None)


def test_a_reward_without_a_window_is_never_cancellable_and_a_used_voucher_neither(member):
    assert voucher_state(voucher_of(member), now=NOW).cancel_until is None
    used = voucher_of(member, window=24)
    used.status, used.used_at = VoucherStatus.USED, NOW

    assert (voucher_state(used, now=NOW).status, voucher_state(used, now=NOW).cancel_until) == ("used", None)
