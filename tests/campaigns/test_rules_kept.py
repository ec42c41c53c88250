"""What a process keeps of the earning rules (``selectors.kept_rules``): read again as soon as any of them
changes, through the admin's saves, the staff's services, or a tier or partner deleted with its links."""

from decimal import Decimal

import pytest

from campaigns import selectors
from campaigns.campaign_services import campaign_members_set, campaign_status_set
from campaigns.models import CampaignStatus, EarningPolicy, Rule
from tests.factories.campaigns import NOW, RateOverrideFactory, item, multiplier_campaign, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import TierFactory

pytestmark = pytest.mark.django_db


def points(member, **fields) -> int:
    return purchase_post(member, item(unit_price="10.00"), **fields).points  # a base of 10


def version() -> int:
    return EarningPolicy.objects.get(pk=1).rules_version


def test_a_second_purchase_reads_the_rules_kept_and_a_change_is_seen_by_the_next_one(django_assert_num_queries):
    member = MemberFactory()
    campaign = multiplier_campaign(factor=2)
    assert points(member) == 20

    policy = selectors.earning_policy_get()
    with django_assert_num_queries(0):
        selectors.campaigns_live_get(at=NOW, policy=policy)
        selectors.earning_program_get(policy=policy)

    rule = campaign.rules.get()
    rule.multiplier = Decimal(3)
    rule.save()
    assert points(member) == 30

    campaign_status_set(campaign=campaign, status=CampaignStatus.PAUSED)
    assert points(member) == 10


@pytest.mark.parametrize(
    "change",
    ["rule deleted", "rule added", "override", "tiers", "partners", "tier deleted", "member list", "campaign saved"],
)
def test_every_change_of_the_rules_gives_a_new_version_and_the_next_purchase_sees_it(change):
    member, partner = MemberFactory(), PartnerFactory()
    tier = TierFactory()
    campaign = multiplier_campaign(factor=2)
    assert points(member, partner=partner) == 20
    before = version()

    if change == "rule deleted":
        campaign.rules.all().delete()
        expected = 10
    elif change == "rule added":
        Rule.objects.create(campaign=campaign, kind="basket_bonus", points=5)
        expected = 25
    elif change == "override":
        RateOverrideFactory(points_per_unit=Decimal(3), sku="SKU-1")
        expected = 60  # 30, doubled
    elif change == "tiers":
        campaign.tiers.set([tier])
        expected = 10
    elif change == "partners":
        campaign.partners.add(PartnerFactory())
        expected = 10
    elif change == "tier deleted":
        campaign.tiers.set([tier])
        assert points(member, partner=partner) == 10
        before = version()
        tier.delete()  # its link goes with it (no signal of the link): the campaign is for everyone again
        expected = 20
    elif change == "member list":
        campaign_members_set(campaign=campaign, member_numbers=[MemberFactory().member_number])
        expected = 10
    else:
        campaign.name = "Renamed"
        campaign.save()
        expected = 20

    assert version() != before
    assert points(member, partner=partner) == expected


def test_without_a_stored_policy_the_rules_are_read_each_time(django_assert_num_queries):
    EarningPolicy.objects.all().delete()
    multiplier_campaign(factor=2)
    policy = selectors.earning_policy_get()
    selectors.campaigns_live_get(at=NOW, policy=policy)

    with django_assert_num_queries(4):
        assert len(selectors.campaigns_live_get(at=NOW, policy=policy)) == 1
