"""The rewards pages run the same number of SQL queries whatever the catalog and the member's vouchers hold."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.ledger import services as ledger
from members.services import member_email_verify
from rewards.models import RewardKind, VoucherCode
from rewards.services import redemption_create
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import CharityFactory, RewardFactory
from tests.factories.tiers import MemberTierFactory, TierFactory


def queries_for(client, url: str, params: dict | None = None, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {}, **headers)
    assert response.status_code == 200
    return len(captured)


def add_rewards(count: int, tiers, partners) -> list:
    """``count`` rewards of every sort: tier-locked, limited stock, gift cards with a pool, partners."""
    rewards = []
    for number in range(count):
        reward = RewardFactory(
            kind=RewardKind.GIFT_CARD if number % 3 == 0 else RewardKind.FIXED_DISCOUNT,
            points_cost=100 + number,
            stock=None if number % 2 else 5,
            tiers=tiers if number % 4 == 0 else [],
            partners=partners if number % 5 == 0 else [],
        )
        if reward.kind == RewardKind.GIFT_CARD:
            VoucherCode.objects.create(reward=reward, code=f"GC-{reward.pk}", imported_at=reward.created_at)
        rewards.append(reward)
    return rewards


def add_vouchers(member, reward, count: int) -> None:
    redemption_create(member=member, reward=reward, quantity=count, idempotency_key=str(uuid.uuid4()))


@pytest.fixture
def rich_member(member):
    ledger.credit(member.account, 100_000)
    MemberTierFactory(member=member, tier=TierFactory())
    return member


# session, user, member with account; then the tier, the rewards (their pool counted in the same query), their tiers
CATALOG_QUERIES = 6


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        pytest.param({}, {}, id="page"),
        pytest.param({"affordable": "on", "kind": "gift_card"}, {}, id="filtered"),
        pytest.param({"affordable": "on"}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reward-results"}, id="htmx"),
    ],
)
def test_the_catalog_runs_a_fixed_number_of_queries(member_client, rich_member, params, headers):
    tiers, partners = [TierFactory(), TierFactory()], [PartnerFactory(), PartnerFactory()]
    add_rewards(1, tiers, partners)
    with_one = queries_for(member_client, reverse("portal:rewards"), params, **headers)
    add_rewards(19, tiers, partners)

    with_twenty = queries_for(member_client, reverse("portal:rewards"), params, **headers)

    assert (with_one, with_twenty) == (CATALOG_QUERIES, CATALOG_QUERIES)


@pytest.mark.parametrize("step", ["", "confirm"])
def test_a_reward_page_runs_a_fixed_number_of_queries(member_client, rich_member, step):
    tiers = [rich_member.tier_state.tier, *(TierFactory() for _ in range(4))]
    reward = RewardFactory(points_cost=10, stock=50, tiers=tiers, partners=[PartnerFactory() for _ in range(5)])
    add_vouchers(rich_member, reward, 1)
    url = reverse("portal:reward", args=[reward.code])
    params = {"step": step} if step else {}
    with_one = queries_for(member_client, url, params)
    add_vouchers(rich_member, reward, 3)

    # session, user, member; the tier, the reward, its tiers, its partners
    assert (with_one, queries_for(member_client, url, params)) == (7, 7)


def test_the_vouchers_pages_run_a_fixed_number_of_queries(member_client, rich_member):
    reward = RewardFactory(points_cost=10, cancel_window_hours=24, validity_days=30)
    donation = RewardFactory(kind=RewardKind.DONATION, charity=CharityFactory(), points_cost=10, value_amount=None)
    add_vouchers(rich_member, reward, 1)
    add_vouchers(rich_member, donation, 1)
    voucher = rich_member.vouchers.get()
    pages = [
        reverse("portal:vouchers"),
        reverse("portal:voucher", args=[voucher.pk]),
        reverse("portal:voucher_cancel", args=[voucher.pk]),
    ]
    with_one = [queries_for(member_client, url) for url in pages]
    for _ in range(4):
        add_vouchers(rich_member, reward, 5)
        add_vouchers(rich_member, donation, 2)
    CharityFactory()

    with_twenty_one = [queries_for(member_client, url) for url in pages]

    # session, user, member; then the list's count, its page (reward and redemption joined) and the donations;
    # one voucher (joined) and its reward's partners; the cancel page's voucher
    assert (with_one, with_twenty_one) == ([6, 5, 4], [6, 5, 4])


def test_the_dashboards_rewards_count_costs_one_query(member_client, rich_member):
    RewardFactory(points_cost=10)
    before = queries_for(member_client, reverse("portal:dashboard"))
    add_rewards(20, [TierFactory()], [])

    assert queries_for(member_client, reverse("portal:dashboard")) == before


def test_another_member_with_nothing_sees_the_same_number_of_queries(client, db):
    member = member_email_verify(member=MemberFactory(email="empty@example.com"))
    client.force_login(member.user)
    add_rewards(5, [TierFactory()], [])

    assert queries_for(client, reverse("portal:rewards")) == CATALOG_QUERIES
    assert queries_for(client, reverse("portal:vouchers")) == 5  # no voucher: the page is not read
