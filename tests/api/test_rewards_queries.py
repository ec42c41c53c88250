"""Each rewards endpoint runs a fixed number of queries, whatever the catalog or the redemption holds."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from loyalty.ledger.models import Adjustment
from loyalty.partners.models import Partner
from rewards.models import Redemption, RewardKind, Voucher
from tests.api.test_rewards import code_of, member, other_shop, other_till, shop, till  # noqa: F401  (fixtures)
from tests.factories.rewards import CharityFactory, RewardFactory
from tests.factories.tiers import MemberTierFactory, TierFactory

SIZES = [pytest.param(1, id="1"), pytest.param(5, id="5")]
AUTH = 2  # the key with its partner, then its last use
AGAIN = 1  # the same key within a minute: its last use is not written again
PG = connection.vendor == "postgresql"


@pytest.fixture
def catalog(shop):  # noqa: F811
    """``make(n)``: ``n`` rewards, each with two tiers and an accepting partner, and one reward to redeem."""
    for model in (Partner, Redemption, Adjustment):
        ContentType.objects.get_for_model(model)  # the per-process cache, warm for every case alike

    def make(n):
        tiers = [TierFactory(), TierFactory()]
        for _ in range(n):
            RewardFactory(points_cost=10, tiers=tiers, partners=[shop])
        return tiers, RewardFactory(points_cost=10, stock=100, cancel_window_hours=5)

    return make


def redeemed(till, member, reward, quantity):  # noqa: F811
    body = {
        "member": member.member_number,
        "reward": reward.pk,
        "quantity": quantity,
        "presence_code": code_of(member),
    }
    response = till.post("/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"r{quantity}")
    assert response.status_code == 201
    return Redemption.objects.get()


@pytest.mark.parametrize("n", SIZES)
def test_listing_the_catalog(till, member, catalog, n, django_assert_num_queries):  # noqa: F811
    tiers, _reward = catalog(n)
    MemberTierFactory(member=member, tier=tiers[0])

    with django_assert_num_queries(AUTH + 3):  # the page; its tiers; its partners
        assert till.get("/api/v1/rewards/").status_code == 200
    # + the member; its tier
    with django_assert_num_queries(AGAIN + 5):
        query = f"member={member.member_number}&accepted=true&tier={tiers[0].pk}&kind=fixed_discount"
        assert len(till.get(f"/api/v1/rewards/?{query}").json()["results"]) == n + 1


@pytest.mark.parametrize("n", SIZES)
def test_reading_a_reward(till, catalog, n, django_assert_num_queries):  # noqa: F811
    _tiers, reward = catalog(n)

    with django_assert_num_queries(AUTH + 3):  # the reward with its charity; its tiers; its partners
        assert till.get(f"/api/v1/rewards/{reward.pk}/").status_code == 200


@pytest.mark.parametrize("n", SIZES)
def test_redeeming_and_reading_the_redemption(till, member, catalog, n, django_assert_num_queries):  # noqa: F811
    _tiers, reward = catalog(n)
    code = code_of(member)
    body = {"member": member.member_number, "reward": reward.pk, "quantity": n, "presence_code": code}

    # the member, the reward; the code's check (its own transaction); then in one transaction: the stored
    # response, the account's lock, the repeat, the tier, the reward's tiers and partners, the code's spend, the
    # redemption, the debit (one statement on PostgreSQL), the stock, the vouchers in one insert, the outbox's
    # points.redeemed and voucher.issued events, the response
    with django_assert_num_queries(AUTH + (31 if PG else 34)):
        assert till.post("/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    redemption = Redemption.objects.get()
    with django_assert_num_queries(AGAIN + 3):  # the redemption with member, account, reward; vouchers; donations
        assert len(till.get(f"/api/v1/redemptions/{redemption.pk}/").json()["vouchers"]) == n


@pytest.mark.parametrize("n", SIZES)
def test_checking_and_using_a_voucher(till, other_till, member, catalog, n, django_assert_num_queries):  # noqa: F811
    _tiers, reward = catalog(n)
    redeemed(till, member, reward, n)
    code = Voucher.objects.first().code

    with django_assert_num_queries(AUTH + 2):  # the voucher with reward, member, survivor; the reward's partners
        assert other_till.get(f"/api/v1/vouchers/{code}/").status_code == 200
    # the stored response; the voucher; the account's and the voucher's locks; the partners; the update; the
    # voucher.used event; the output's read; the response stored, in savepoints
    with django_assert_num_queries(AGAIN + 14):
        response = other_till.post(f"/api/v1/vouchers/{code}/use/", {}, format="json", HTTP_IDEMPOTENCY_KEY="u")
        assert response.status_code == 200


@pytest.mark.parametrize("n", SIZES)
def test_cancelling_costs_one_ledger_reversal_per_voucher(till, member, catalog, n, django_assert_num_queries):  # noqa: F811
    """Each voucher's points come back in its own reversal entry (its own history line and idempotency key): the
    ledger's reversal is the part that grows, with a redemption's units (at most ``MAX_QUANTITY``)."""
    _tiers, reward = catalog(n)
    redemption = redeemed(till, member, reward, n)
    per_voucher = 10 if PG else 13

    with django_assert_num_queries(AGAIN + 18 + per_voucher * n):
        response = till.post(
            f"/api/v1/redemptions/{redemption.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c"
        )
        assert response.status_code == 200


@pytest.mark.parametrize("n", SIZES)
def test_redeeming_a_donation_reads_its_charity_once(till, member, n, django_assert_num_queries):  # noqa: F811
    for model in (Partner, Redemption, Adjustment):
        ContentType.objects.get_for_model(model)
    reward = RewardFactory(kind=RewardKind.DONATION, charity=CharityFactory(name="Trees"), points_cost=10)
    body = {"member": member.member_number, "reward": reward.pk, "quantity": n, "presence_code": code_of(member)}

    # as a voucher's redemption, with the donations in one insert and no voucher; an unlimited reward's stock: an
    # UPDATE that matches nothing, then a read that finds it unlimited; only the points.redeemed event
    with django_assert_num_queries(AUTH + (30 if PG else 33)):
        response = till.post("/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert [donation["charity"] for donation in response.json()["donations"]] == ["Trees"] * n
