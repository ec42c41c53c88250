"""The admin's simulator and a draft campaign's dry run: the engine's answer, and nothing written."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import translation

from campaigns import engine
from campaigns.models import CampaignStatus, CapPeriod, RuleKind
from campaigns.simulator import campaign_dry_run, purchase_simulate
from tests.factories.campaigns import NOW, CampaignFactory, item, multiplier_campaign, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import MemberTierFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_in(db):
    def make(group_name: str) -> User:
        user = User.objects.create_user(group_name.lower().replace(" ", "-"), password="pw-staff-123", is_staff=True)
        user.groups.add(Group.objects.get(name=group_name))
        return user

    return make


def table_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def basket(*lines, at=NOW, partner_id=None, channel="") -> engine.Basket:
    return engine.Basket(
        lines=tuple(
            engine.Line(sku=sku, category=category, quantity=Decimal(quantity), unit_price=Decimal(price))
            for sku, category, quantity, price in lines
        ),
        occurred_at=at,
        partner_id=partner_id,
        channel=channel,
    )


@pytest.fixture
def gold(db):
    return TierFactory(name="Gold", name_fr="Or", earning_multiplier=Decimal("1.2"))


@pytest.fixture
def weekend(db):
    return multiplier_campaign(name="Double points weekend", name_fr="Points doublés le week-end")


def test_a_member_sees_base_campaign_and_tier_points_and_nothing_is_written(gold, weekend):
    member = MemberTierFactory(tier=gold).member
    before = table_counts()

    simulation = purchase_simulate(basket=basket(("SKU-1", "shoes", "1", "120.00")), member=member)

    assert simulation.points == 264
    assert simulation.summary_text == "Base: 120, Double points weekend: 120, Gold multiplier: 24"
    assert [(row.line, row.sku, row.label, row.points) for row in simulation.rows] == [
        (1, "SKU-1", "Base", 120),
        (1, "SKU-1", "Double points weekend", 120),
        (1, "SKU-1", "Gold multiplier", 24),
    ]
    assert simulation.tier_name == "Gold"
    assert table_counts() == before


def test_the_breakdown_reads_in_french_with_the_french_names(gold, weekend):
    member = MemberTierFactory(tier=gold).member

    with translation.override("fr"):
        simulation = purchase_simulate(basket=basket(("SKU-1", "shoes", "1", "120.00")), member=member)

    # The words are the catalog's (the lead fills it); the names are the campaign's and the tier's French ones.
    base, campaign, tier = simulation.summary
    assert ("120" in base, campaign.startswith("Points doublés le week-end"), "Or" in tier) == (True, True, True)
    assert "Gold" not in tier


def test_a_tier_alone_earns_its_multiplier_without_a_member(gold, weekend):
    simulation = purchase_simulate(basket=basket(("SKU-1", "", "2", "25.00")), tier=gold)

    assert simulation.summary_text == "Base: 50, Double points weekend: 50, Gold multiplier: 10"


def test_a_draft_campaign_counts_only_when_chosen(weekend):
    draft = CampaignFactory(
        name="Shoe bonus", status=CampaignStatus.DRAFT, rules=[{"kind": RuleKind.BASKET_BONUS, "points": 30}]
    )
    member = MemberFactory()
    shoes = basket(("SKU-1", "shoes", "1", "10.00"))

    without = purchase_simulate(basket=shoes, member=member)
    with_it = purchase_simulate(basket=shoes, member=member, extra_campaign=draft)

    assert without.summary_text == "Base: 10, Double points weekend: 10"
    assert with_it.summary_text == "Base: 10, Double points weekend: 10, Shoe bonus (basket bonus): 30"
    assert with_it.campaigns == ("Double points weekend", "Shoe bonus")


def test_what_the_member_already_got_counts_towards_the_cap(weekend):
    capped = multiplier_campaign(name="Capped", member_cap=25, cap_period=CapPeriod.CAMPAIGN)
    member = MemberFactory()
    purchase_post(member, item(unit_price="15.00"))  # the capped campaign gave 15 of its 25

    simulation = purchase_simulate(basket=basket(("SKU-1", "", "1", "30.00")), member=member)

    assert simulation.summary_text == "Base: 30, Double points weekend: 30, Capped: 10"
    assert simulation.notes == ("Capped: 20 points not awarded (your limit for this campaign reached)",)
    assert capped.pk


def test_a_listed_campaign_counts_for_its_members_only(weekend):
    listed, other = MemberFactory(), MemberFactory()
    CampaignFactory(name="VIP", members=[listed], rules=[{"kind": RuleKind.BASKET_BONUS, "points": 5}])
    shoes = basket(("SKU-1", "", "1", "10.00"))

    assert purchase_simulate(basket=shoes, member=listed).points == 25
    assert purchase_simulate(basket=shoes, member=other).points == 20


def test_the_simulation_runs_a_fixed_number_of_queries(weekend, django_assert_num_queries):
    member = MemberFactory()
    purchase_simulate(basket=basket(("SKU-1", "", "1", "10.00")), member=member)
    # campaigns, rules, tiers, partners; facts; list; usage; policy, overrides; tier names
    with django_assert_num_queries(10):
        purchase_simulate(basket=basket(("SKU-1", "", "1", "10.00")), member=member)
    for n in range(5):
        multiplier_campaign(name=f"More {n}", partners=[PartnerFactory()], members=[member])
    with django_assert_num_queries(10):
        purchase_simulate(basket=basket(("SKU-1", "", "1", "10.00")), member=member)


# The admin page


def simulator_post(client, **fields):
    data = {
        "member_number": "",
        "tier": "",
        "partner": "",
        "channel": "",
        "occurred_at": "2027-03-10T12:00",
        "discount": "0",
        "points_amount": "0",
        "campaign": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-sku": "SKU-1",
        "lines-0-category": "shoes",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "120.00",
        "lines-0-discount": "0",
        **fields,
    }
    return client.post(reverse("admin:campaigns_campaign_simulator"), data)


def test_the_admin_simulator_shows_the_breakdown_and_writes_nothing(client, staff_in, gold, weekend):
    client.force_login(staff_in("Support agent"))
    member = MemberTierFactory(tier=gold).member
    before = table_counts()

    response = simulator_post(client, member_number=member.member_number)

    assert response.status_code == 200
    assert response.context["outcome"].summary_text == "Base: 120, Double points weekend: 120, Gold multiplier: 24"
    assert "264 points" in response.content.decode()
    assert table_counts() == before


def test_the_simulator_says_what_is_wrong_with_the_form(client, staff_in, gold):
    client.force_login(staff_in("Analyst"))

    unknown = simulator_post(client, member_number="1234567897")
    both = simulator_post(client, member_number=MemberFactory().member_number, tier=str(gold.pk))
    no_line = simulator_post(client, **{"lines-0-sku": "", "lines-0-quantity": "", "lines-0-unit_price": ""})

    assert unknown.context["form"].errors == {"member_number": ["No member has this number."]}
    assert "tier" in both.context["form"].errors
    assert no_line.context["lines"].errors[0]["sku"] == ["This field is required."]
    assert unknown.context["outcome"] is None


def test_the_simulator_is_for_staff_who_read_campaigns(client, db):
    user = User.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(user)

    assert client.get(reverse("admin:campaigns_campaign_simulator")).status_code == 403


def test_the_simulator_is_linked_from_the_admin_index_and_the_campaign_list(client, staff_in):
    client.force_login(staff_in("Analyst"))
    link = reverse("admin:campaigns_campaign_simulator")

    assert link in client.get(reverse("admin:index")).content.decode()
    assert link in client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()


# The dry run


def test_a_dry_run_counts_what_a_draft_would_have_given_over_the_window(settings):
    """Hand-computed: base rate 1; the draft gives x3 on shoes (twice the base more), 150 a member at most,
    500 in all; a live x2 on bags takes part in both evaluations and adds nothing to the draft's count."""
    settings.LOYALTY_POINT_VALUE = Decimal("0.01")
    CampaignFactory(name="Bags x2", rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 2, "categories": ["bags"]}])
    ada, bob, cy, dan = (MemberFactory() for _ in range(4))
    day = timedelta(days=1)
    purchase_post(ada, item("S", "1", "100.00", "shoes"), occurred_at=NOW - 9 * day)  # 200 -> 150 (cap)
    purchase_post(ada, item("S", "1", "50.00", "shoes"), occurred_at=NOW - 8 * day)  # 100 -> 0 (cap)
    purchase_post(bob, item("B", "1", "80.00", "bags"), occurred_at=NOW - 7 * day)  # no shoes
    purchase_post(bob, item("S", "1", "40.00", "shoes"), item("B", "1", "60.00", "bags"), occurred_at=NOW - 6 * day)
    purchase_post(cy, item("S", "1", "200.00", "shoes"), occurred_at=NOW - 5 * day)  # 400 -> 150 (cap)
    purchase_post(dan, item("S", "1", "100.00", "shoes"), occurred_at=NOW - 40 * day)  # before the window
    draft = CampaignFactory(
        name="Shoes x3",
        status=CampaignStatus.DRAFT,
        member_cap=150,
        cap_period=CapPeriod.CAMPAIGN,
        budget=500,
        rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 3, "categories": ["shoes"]}],
    )
    before = table_counts()

    report = campaign_dry_run(campaign=draft, days=30, now=NOW)

    assert (report.purchases_evaluated, report.purchases_matched, report.members_reached) == (5, 3, 3)
    assert (report.points, report.net_points, report.points_cut) == (150 + 80 + 150, 380, 50 + 100 + 250)
    assert (report.liability, report.currency) == (Decimal("3.80"), "EUR")
    assert table_counts() == before


def test_a_dry_run_replays_the_budget_in_the_order_of_the_purchases():
    ada, bob = MemberFactory(), MemberFactory()
    purchase_post(ada, item(unit_price="30.00"), occurred_at=NOW - timedelta(days=2))
    purchase_post(bob, item(unit_price="30.00"), occurred_at=NOW - timedelta(days=1))
    draft = CampaignFactory(
        status=CampaignStatus.DRAFT, budget=40, rules=[{"kind": RuleKind.BASKET_BONUS, "points": 25}]
    )

    report = campaign_dry_run(campaign=draft, days=7, now=NOW)

    assert (report.points, report.points_cut, report.members_reached) == (40, 10, 2)


def test_an_exclusive_draft_counts_what_it_displaces(settings):
    settings.LOYALTY_POINT_VALUE = Decimal("0.02")
    multiplier_campaign(name="Everything x2")
    purchase_post(MemberFactory(), item(unit_price="10.00"), occurred_at=NOW - timedelta(days=1))
    draft = CampaignFactory(
        status=CampaignStatus.DRAFT,
        rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 3, "exclusive": True, "priority": 100}],
    )

    report = campaign_dry_run(campaign=draft, days=7, now=NOW)

    assert (report.points, report.net_points, report.liability) == (20, 10, Decimal("0.20"))


def test_the_dry_run_page_shows_the_figures(client, staff_in):
    client.force_login(staff_in("Analyst"))
    draft = CampaignFactory(status=CampaignStatus.DRAFT, rules=[{"kind": RuleKind.BASKET_BONUS, "points": 25}])

    page = client.get(reverse("admin:campaigns_campaign_dry_run", args=[draft.pk]), {"days": "30"})
    blank = client.get(reverse("admin:campaigns_campaign_dry_run", args=[draft.pk]))

    assert page.status_code == 200
    assert page.context["result"].purchases_evaluated == 0
    assert 'data-testid="dry-run-result"' in page.content.decode()
    assert blank.context["result"] is None
