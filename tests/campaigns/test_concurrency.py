"""Racing purchases and returns on PostgreSQL, each on its own thread and connection."""

from collections import Counter

import pytest
from django.db.models import Sum

from campaigns.models import Award, CampaignUsage, Purchase
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from members.gifting import gift_send
from members.referrals.models import ReferralCode
from tests.factories.campaigns import NOW, bonus_campaign, item, purchase_post, return_post
from tests.factories.members import MemberFactory, gift_policy_set
from tests.factories.partners import PartnerFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_purchases_racing_for_the_last_of_a_budget_never_exceed_it():
    # given a campaign of 30 points a basket with 100 points of budget, and eight members buying at once
    campaign = bonus_campaign(30, budget=100, name="Limited")
    partner = PartnerFactory()
    members = [MemberFactory() for _ in range(8)]

    outcomes = run_together(*[lambda member=member: purchase_post(member, partner=partner) for member in members])

    # then the budget is spent exactly, never more: three full bonuses and the last 10 points
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    campaign.refresh_from_db()
    given = Award.objects.filter(campaign=campaign).aggregate(total=Sum("points"))["total"]
    assert (campaign.points_awarded, given) == (100, 100)
    assert Counter(purchase.points - 10 for purchase in outcomes) == {30: 3, 10: 1, 0: 4}
    assert audit(now=NOW) == []


def test_one_member_s_purchases_at_once_respect_the_member_cap():
    campaign = bonus_campaign(30, member_cap=50, name="Capped")
    member, partner = MemberFactory(), PartnerFactory()

    outcomes = run_together(*[lambda: purchase_post(member, partner=partner)] * 4)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert CampaignUsage.objects.get(campaign=campaign, member=member).points == 50
    assert sorted(purchase.points for purchase in outcomes) == [10, 10, 30, 40]


def test_the_same_purchase_posted_at_once_is_recorded_once():
    member, partner = MemberFactory(), PartnerFactory()

    outcomes = run_together(*[lambda: purchase_post(member, partner=partner, external_id="SAME")] * 4)

    assert {outcome.pk for outcome in outcomes} == {Purchase.objects.get().pk}
    member.account.refresh_from_db()
    assert member.account.balance == 10


def test_returns_racing_on_one_purchase_never_give_back_more_than_it_earned():
    member = MemberFactory()
    campaign = bonus_campaign(20, budget=1000)
    purchase = purchase_post(member, item("A", "4", "10.00"))  # 40 + 20

    outcomes = run_together(*[lambda: return_post(purchase, items=[("A", 1)])] * 6)

    assert Counter(type(outcome).__name__ for outcome in outcomes) == {"PurchaseReturn": 4, "ReturnExceedsPurchase": 2}
    member.account.refresh_from_db()
    campaign.refresh_from_db()
    assert (member.account.balance, campaign.points_awarded) == (0, 0)
    assert audit(now=NOW) == []


def test_a_referred_member_s_first_purchase_racing_a_gift_from_the_referrer_does_not_deadlock():
    # the purchase locks both accounts up front, in id order, as the gift does
    gift_policy_set(enabled=True)
    referrer = MemberFactory()
    friend = MemberFactory(referral_code=ReferralCode.objects.get(member=referrer).code)
    ledger.credit(referrer.account, 1000)
    ledger.credit(friend.account, 1000)

    def gift_to_referrer(key):
        return lambda: gift_send(
            sender=friend, recipient_number=referrer.member_number, points=10, idempotency_key=key
        )

    for round_ in range(3):
        outcomes = run_together(
            lambda: purchase_post(friend, item(unit_price="30.00")), gift_to_referrer(f"g{round_}")
        )
        assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert audit() == []
