"""The shared reads and writes of earning: the program, the live campaigns, a member's facts,
``campaigns_prepare`` (list, caps, budgets, locks) and ``awards_record``."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from campaigns import engine, selectors, services
from campaigns.models import (
    Award,
    Campaign,
    CampaignStatus,
    CampaignUsage,
    CapPeriod,
    EarningPolicy,
    Event,
    EventType,
    Outcome,
)
from loyalty.ledger import lock_objects as ledger_locks
from members.models import Member
from tests.factories.campaigns import (
    NOW,
    CampaignFactory,
    RateOverrideFactory,
    RuleFactory,
    bonus_campaign,
    earning_policy_set,
    multiplier_campaign,
    purchase_post,
)
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import MemberTierFactory, TierFactory

pytestmark = pytest.mark.django_db


def joined(at: datetime):
    member = MemberFactory()
    Member.objects.filter(pk=member.pk).update(joined_at=at)
    member.joined_at = at
    return member


def test_the_program_reads_the_policy_and_the_active_overrides_in_two_queries(django_assert_num_queries):
    earning_policy_set(points_per_unit=Decimal("1.5"))
    partner = PartnerFactory()
    kept = RateOverrideFactory(partner=partner, points_per_unit=Decimal(3))
    RateOverrideFactory(sku="OLD", active=False)

    with django_assert_num_queries(2):
        program = selectors.earning_program_get()

    assert program == engine.Program(
        points_per_unit=Decimal("1.5"),
        time_zone="UTC",
        overrides=(engine.RateOverride(id=kept.pk, points_per_unit=Decimal(3), partner_id=partner.pk),),
    )


@override_settings(TIME_ZONE="Europe/Paris")
def test_a_missing_policy_row_reads_as_the_model_defaults_in_the_program_time_zone():
    EarningPolicy.objects.all().delete()

    program = selectors.earning_program_get()

    assert (program.points_per_unit, program.time_zone, program.overrides) == (Decimal(1), "Europe/Paris", ())
    assert selectors.earning_policy_get().amount_tolerance == Decimal("0.05")


@pytest.mark.parametrize("count", [1, 10], ids=["1-campaign", "10-campaigns"])
def test_live_campaigns_are_read_in_four_queries_whatever_their_number(count, django_assert_num_queries):
    tier, partner = TierFactory(), PartnerFactory()
    for _ in range(count):
        campaign = multiplier_campaign(tiers=[tier], partners=[partner])
        RuleFactory(campaign=campaign, kind="basket_bonus", points=5, priority=3)

    with django_assert_num_queries(4):
        live = selectors.campaigns_live_get(at=NOW)

    assert len(live) == count
    assert live[0].tier_ids == {tier.pk}
    assert live[0].partner_ids == {partner.pk}
    assert [rule.kind for rule in live[0].rules] == ["basket_bonus", "multiplier"]  # priority first


def test_live_campaigns_are_the_active_ones_in_their_dates_with_rules():
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
    live = multiplier_campaign(name="live", starts_at=start, ends_at=end)
    multiplier_campaign(name="ends now", starts_at=start, ends_at=NOW)  # the end is excluded
    starts_now = multiplier_campaign(name="starts now", starts_at=NOW)
    multiplier_campaign(name="draft", status=CampaignStatus.DRAFT)
    multiplier_campaign(name="paused", status=CampaignStatus.PAUSED)
    CampaignFactory(name="no rules")
    listed = multiplier_campaign(name="listed", members=[])

    found = selectors.campaigns_live_get(at=NOW)

    assert [campaign.id for campaign in found] == [live.pk, starts_now.pk, listed.pk]
    assert [campaign.member_in_list for campaign in found] == [None, None, False]


def test_member_facts_name_the_tier_its_multiplier_the_join_day_and_a_first_purchase(django_assert_num_queries):
    gold = TierFactory(name="Gold", earning_multiplier=Decimal("1.5"))
    member = joined(datetime(2026, 5, 1, 23, 30, tzinfo=UTC))
    MemberTierFactory(member=member, tier=gold)

    with django_assert_num_queries(1):
        facts = selectors.member_facts_get(member=member)

    assert facts == engine.MemberFacts(
        tier_id=gold.pk,
        tier_name="Gold",
        tier_multiplier=Decimal("1.5"),
        joined_on=date(2026, 5, 1),
        first_purchase=True,
    )


@override_settings(TIME_ZONE="Europe/Paris")
def test_the_join_day_is_the_program_day():
    member = joined(datetime(2026, 5, 1, 23, 30, tzinfo=UTC))

    assert selectors.member_facts_get(member=member).joined_on == date(2026, 5, 2)


def test_a_member_without_a_tier_has_multiplier_one_and_a_purchase_that_earned_ends_first_purchase():
    member = MemberFactory()
    assert selectors.member_facts_get(member=member) == engine.MemberFacts(
        joined_on=selectors.member_facts_get(member=member).joined_on, first_purchase=True
    )

    purchase_post(member)

    assert selectors.member_facts_get(member=member).first_purchase is False


def test_a_purchase_that_earned_nothing_leaves_the_next_one_a_first_purchase():
    earning_policy_set(points_per_unit=Decimal("0.01"))
    member = MemberFactory()

    purchase = purchase_post(member)  # 10.00 at 0.01 a unit: 0 points

    assert purchase.outcome == Outcome.NOTHING
    assert selectors.member_facts_get(member=member).first_purchase is True


# campaigns_prepare


def prepare(member, *, at=NOW, partner_id=None, channel=""):
    facts = selectors.member_facts_get(member=member)
    with transaction.atomic():
        ledger_locks.accounts_for_update([member.account.pk])
        return services.campaigns_prepare(
            campaigns=selectors.campaigns_live_get(at=at),
            member=member,
            facts=facts,
            at=at,
            partner_id=partner_id,
            channel=channel,
        )


def test_prepare_keeps_the_campaigns_that_apply_and_looks_the_member_up_in_the_lists():
    member, other = MemberFactory(), MemberFactory()
    partner = PartnerFactory()
    everyone = multiplier_campaign()
    listed = multiplier_campaign(members=[member])
    multiplier_campaign(members=[other])
    multiplier_campaign(partners=[PartnerFactory()])
    multiplier_campaign(channels=["web"])
    multiplier_campaign(tiers=[TierFactory()])

    prepared = prepare(member, partner_id=partner.pk, channel="store")

    assert [(campaign.id, campaign.member_in_list) for campaign in prepared] == [
        (everyone.pk, None),
        (listed.pk, True),
    ]


def test_prepare_reads_caps_of_the_period_and_budgets_left():
    member = MemberFactory()
    daily = multiplier_campaign(member_cap=50, cap_period=CapPeriod.DAY)
    weekly = multiplier_campaign(member_cap=50, cap_period=CapPeriod.WEEK)
    whole = multiplier_campaign(member_cap=50, cap_period=CapPeriod.CAMPAIGN, budget=100)
    CampaignUsage.objects.create(campaign=daily, member=member, period_start=date(2027, 3, 10), points=7)
    CampaignUsage.objects.create(campaign=daily, member=member, period_start=date(2027, 3, 9), points=40)
    CampaignUsage.objects.create(campaign=weekly, member=member, period_start=date(2027, 3, 8), points=11)  # Monday
    CampaignUsage.objects.create(campaign=whole, member=member, period_start=date(2000, 1, 1), points=13)
    CampaignUsage.objects.create(campaign=whole, member=MemberFactory(), period_start=date(2000, 1, 1), points=99)
    Campaign.objects.filter(pk=whole.pk).update(points_awarded=60)

    prepared = {campaign.id: campaign for campaign in prepare(member)}

    assert {pk: campaign.member_cap_used for pk, campaign in prepared.items()} == {
        daily.pk: 7,
        weekly.pk: 11,
        whole.pk: 13,
    }
    assert [prepared[pk].budget_left for pk in (daily.pk, weekly.pk, whole.pk)] == [None, None, 40]


def test_prepare_runs_no_query_without_campaigns_and_three_with_a_list_a_cap_and_a_budget(
    django_assert_num_queries,
):
    member = MemberFactory()
    facts = selectors.member_facts_get(member=member)
    program = selectors.earning_program_get()
    with transaction.atomic(), django_assert_num_queries(0):
        assert (
            services.campaigns_prepare(
                campaigns=(), member=member, facts=facts, at=NOW, partner_id=None, program=program
            )
            == ()
        )
    for _ in range(5):
        multiplier_campaign(members=[member], member_cap=10, budget=100)
    live = selectors.campaigns_live_get(at=NOW)

    with transaction.atomic(), django_assert_num_queries(3):  # the lists, the usage, the locked campaigns
        prepared = services.campaigns_prepare(
            campaigns=live, member=member, facts=facts, at=NOW, partner_id=None, program=program
        )

    assert len(prepared) == 5


def test_given_the_basket_prepare_leaves_out_the_campaigns_that_match_no_line_and_reads_nothing_for_them(
    django_assert_num_queries,
):
    member = MemberFactory()
    garden = CampaignFactory(
        rules=[{"kind": "multiplier", "multiplier": 3, "categories": ["garden"], "skus": ["RAKE"]}],
        member_cap=10,
        budget=100,
    )
    coffee = CampaignFactory(rules=[{"kind": "multiplier", "multiplier": 2, "categories": ["coffee"]}], member_cap=10)
    facts = selectors.member_facts_get(member=member)
    program = selectors.earning_program_get()
    live = selectors.campaigns_live_get(at=NOW)

    def basket(*lines):
        items = tuple(engine.Line(sku=sku, category=category, quantity=Decimal(1), unit_price=Decimal(5))
                      for sku, category in lines)  # fmt: skip
        return engine.Basket(lines=items, occurred_at=NOW)

    def prepared(given, queries):
        with transaction.atomic(), django_assert_num_queries(queries):
            return [
                campaign.id
                for campaign in services.campaigns_prepare(
                    campaigns=live, member=member, facts=facts, at=NOW, partner_id=None, program=program, basket=given
                )
            ]

    assert prepared(basket(("BREAD", "bakery")), 0) == []
    assert prepared(basket(("BREAD", "bakery"), ("MOKA", "coffee")), 2) == [coffee.pk]  # its usage, its lock
    assert prepared(basket(("RAKE", "tools")), 2) == [garden.pk]  # a SKU matches
    assert prepared(None, 2) == [garden.pk, coffee.pk]  # no basket (an event): every campaign that applies


@pytest.mark.parametrize(
    ("period", "at", "start"),
    [
        (CapPeriod.DAY, datetime(2027, 3, 14, 22, 30, tzinfo=UTC), date(2027, 3, 14)),
        (CapPeriod.WEEK, datetime(2027, 3, 14, 22, 30, tzinfo=UTC), date(2027, 3, 8)),
        (CapPeriod.CAMPAIGN, datetime(2027, 3, 14, 22, 30, tzinfo=UTC), date(2000, 1, 1)),
    ],
    ids=["day", "week: its Monday", "campaign"],
)
def test_cap_periods_start_on_the_program_day_its_monday_or_the_campaign_day(period, at, start):
    assert services.cap_period_start(period, at) == start


@override_settings(TIME_ZONE="Europe/Paris")
def test_cap_periods_are_program_days():
    sunday_night_utc = datetime(2027, 3, 14, 23, 30, tzinfo=UTC)  # already Monday 15 in Paris

    assert services.cap_period_start(CapPeriod.DAY, sunday_night_utc) == date(2027, 3, 15)
    assert services.cap_period_start(CapPeriod.WEEK, sunday_night_utc) == date(2027, 3, 15)


# awards_record


def test_awards_record_writes_awards_usage_and_campaign_totals(django_assert_num_queries):
    member = MemberFactory()
    daily = multiplier_campaign(member_cap=1000, cap_period=CapPeriod.DAY)
    bonus = bonus_campaign(25)
    CampaignUsage.objects.create(campaign=daily, member=member, period_start=date(2027, 3, 10), points=5)
    rule_x2, rule_bonus = daily.rules.get(), bonus.rules.get()
    result = engine.Result(
        paid_amounts=(Decimal(10),),
        awards=(
            engine.Award(source=engine.BASE, points=10, reason="base"),
            engine.Award(
                source=engine.CAMPAIGN, points=10, campaign_id=daily.pk, rule_id=rule_x2.pk, reason="multiplier"
            ),
            engine.Award(
                source=engine.CAMPAIGN, points=25, campaign_id=bonus.pk, rule_id=rule_bonus.pk, reason="basket_bonus"
            ),
        ),
    )
    with transaction.atomic():
        ledger_locks.accounts_for_update([member.account.pk])
        event = Event.objects.create(
            event_type=EventType.objects.get(code="review"),
            member=member,
            external_id="E-1",
            occurred_at=NOW,
            outcome=Outcome.EARNED,
            points=45,
            created_at=NOW,
        )
        # the campaigns' periods, the awards, the usage upsert, the campaigns' totals
        with django_assert_num_queries(4):
            awards = services.awards_record(result=result, member=member, at=NOW, event=event)

    assert [(award.source, award.campaign_id, award.points, award.cap_period_start) for award in awards] == [
        ("base", None, 10, None),
        ("campaign", daily.pk, 10, date(2027, 3, 10)),
        ("campaign", bonus.pk, 25, date(2000, 1, 1)),
    ]
    assert Award.objects.filter(event=event).count() == 3
    usage = CampaignUsage.objects.filter(member=member).values_list("campaign_id", "period_start", "points")
    assert sorted(usage) == [
        (daily.pk, date(2027, 3, 10), 15),
        (bonus.pk, date(2000, 1, 1), 25),
    ]
    assert dict(Campaign.objects.values_list("pk", "points_awarded")) == {daily.pk: 10, bonus.pk: 25}


def test_awards_record_of_nothing_writes_nothing(django_assert_num_queries):
    member = MemberFactory()
    with django_assert_num_queries(0):
        assert services.awards_record(result=engine.Result(paid_amounts=(), awards=()), member=member, at=NOW) == []
