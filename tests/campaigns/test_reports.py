"""Campaign statistics: members reached, points awarded net of returns, budget left, purchases matched,
counted from the awards in a fixed number of queries."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus, RuleKind
from campaigns.reports import CampaignStats, campaign_stats_get, campaigns_with_stats, stats_of
from tests.factories.campaigns import CampaignFactory, item, multiplier_campaign, purchase_post, return_post
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaigns(db):
    """Shoes x2 (budget 1,000) and a basket bonus of 5 (no budget); purchases by Ada (2) and Bob (1)."""
    shoes = CampaignFactory(
        name="Shoes x2", budget=1000, rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 2, "categories": ["shoes"]}]
    )
    bonus = CampaignFactory(name="Bonus", rules=[{"kind": RuleKind.BASKET_BONUS, "points": 5}])
    idle = CampaignFactory(name="Idle", status=CampaignStatus.DRAFT, budget=300)
    ada, bob = MemberFactory(), MemberFactory()
    purchase_post(ada, item("S1", "2", "50.00", "shoes"), item("B1", "1", "20.00", "bags"))  # shoes +100, bonus +5
    purchase_post(ada, item("B1", "1", "20.00", "bags"))  # bonus +5
    purchase_post(bob, item("S2", "1", "30.00", "shoes"))  # shoes +30, bonus +5
    return shoes, bonus, idle


def test_the_statistics_count_members_points_purchases_and_the_budget_left(campaigns):
    shoes, bonus, idle = campaigns

    assert campaign_stats_get(campaign_id=shoes.pk) == CampaignStats(
        members_reached=2, points_awarded=130, purchases_matched=2, budget=1000, budget_left=870
    )
    assert campaign_stats_get(campaign_id=bonus.pk) == CampaignStats(
        members_reached=2, points_awarded=15, purchases_matched=3, budget=None, budget_left=None
    )
    assert campaign_stats_get(campaign_id=idle.pk) == CampaignStats(
        members_reached=0, points_awarded=0, purchases_matched=0, budget=300, budget_left=300
    )


def test_points_awarded_are_net_of_returns(campaigns):
    shoes, _bonus, _idle = campaigns
    other = MemberFactory()
    purchase = purchase_post(other, item("S3", "2", "10.00", "shoes"), partner=PartnerFactory())  # shoes +20

    return_post(purchase, items=[("S3", 1)])  # gives back half: shoes -10

    stats = campaign_stats_get(campaign_id=shoes.pk)
    assert (stats.points_awarded, stats.budget_left, stats.members_reached) == (140, 860, 3)


def test_a_page_of_campaigns_reads_its_statistics_in_one_query(campaigns, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = {campaign.name: stats_of(campaign) for campaign in campaigns_with_stats(Campaign.objects.all())}

    assert {name: (stats.members_reached, stats.points_awarded) for name, stats in rows.items()} == {
        "Shoes x2": (2, 130),
        "Bonus": (2, 15),
        "Idle": (0, 0),
    }


def test_the_campaign_list_and_page_show_the_statistics_in_a_fixed_number_of_queries(
    client, campaigns, django_assert_num_queries
):
    shoes, _bonus, _idle = campaigns
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root-123"))
    page = reverse("admin:campaigns_campaign_change", args=[shoes.pk])
    listing = reverse("admin:campaigns_campaign_changelist")
    client.get(page)

    # session, user, the statistics, the list's size, the campaign, its tiers and partners (the form's
    # choices and values: 4), the rules (inline), the rules' event types (the inline's choices), content type
    with django_assert_num_queries(13):
        response = client.get(page)

    stats = response.context["stats"]
    assert (stats.members_reached, stats.points_awarded, stats.budget_left, stats.purchases_matched) == (
        2,
        130,
        870,
        2,
    )
    assert 'data-testid="campaign-stats"' in response.content.decode()
    listed = client.get(listing)
    rows = {
        campaign.name: (campaign.stat_members, campaign.stat_purchases)
        for campaign in listed.context["cl"].result_list
    }
    assert rows == {"Shoes x2": (2, 2), "Bonus": (2, 3), "Idle": (0, 0)}
    for _ in range(3):
        multiplier_campaign()
        purchase_post(MemberFactory())
    with django_assert_num_queries(13):
        client.get(page)
