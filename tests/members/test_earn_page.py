"""The portal's "Ways to earn" and the breakdown of a purchase in the history, in English and French,
in a fixed number of queries."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.models import CampaignStatus, CapPeriod, EventType, RuleKind
from loyalty.clock import program_date
from members.models import Member
from tests.factories.campaigns import CampaignFactory, item, multiplier_campaign, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import MemberTierFactory, TierFactory


def offers(response) -> list[str]:
    return [card["way"].name for card in response.context["cards"]]


def card_of(response, name) -> dict:
    return next(card for card in response.context["cards"] if card["way"].name == name)


@pytest.fixture
def gold(db):
    return TierFactory(name="Gold", name_fr="Or", earning_multiplier=Decimal("1.2"))


def test_the_page_lists_the_offers_that_apply_to_the_member_and_not_the_others(member_client, member, gold):
    silver = TierFactory(name="Silver")
    MemberTierFactory(member=member, tier=gold)
    Member.objects.filter(pk=member.pk).update(joined_at=timezone.now() - timedelta(days=400))
    now = timezone.now()
    multiplier_campaign(name="For everyone")
    multiplier_campaign(name="For gold", tiers=[gold])
    multiplier_campaign(name="For silver", tiers=[silver])
    multiplier_campaign(name="On my list", members=[member])
    multiplier_campaign(name="On a list without me", members=[MemberFactory()])
    multiplier_campaign(name="New members", joined_after=program_date() - timedelta(days=30))
    multiplier_campaign(name="Draft", status=CampaignStatus.DRAFT)
    multiplier_campaign(name="Paused", status=CampaignStatus.PAUSED)
    multiplier_campaign(name="Ended", ends_at=now - timedelta(hours=1))
    multiplier_campaign(name="Next week", starts_at=now + timedelta(days=7))
    CampaignFactory(name="No rule")
    spent = multiplier_campaign(name="Budget spent", budget=10)
    purchase_post(MemberFactory(), item(unit_price="10.00"))  # spends it (and adds to the others)
    spent.refresh_from_db()
    assert spent.points_awarded == 10

    response = member_client.get(reverse("portal:earn"))

    assert response.status_code == 200
    assert sorted(offers(response)) == ["For everyone", "For gold", "Next week", "On my list"]
    assert card_of(response, "Next week")["way"].upcoming is True
    assert 'aria-current="page"' in response.content.decode().split('href="/earn/"')[1][:30]


def test_an_offer_reads_its_rules_window_and_limits_in_words(member_client, member):
    partner = PartnerFactory(name="Acme Stores")
    CampaignFactory(
        name="Weekend evenings",
        description="Our evening treat.",
        weekdays=[5, 6],
        start_time=time(18),
        end_time=time(22),
        partners=[partner],
        channels=["store"],
        member_cap=500,
        cap_period=CapPeriod.WEEK,
        budget=10_000,
        rules=[
            {"kind": RuleKind.MULTIPLIER, "multiplier": 2, "categories": ["shoes", "bags"], "priority": 10},
            {"kind": RuleKind.BASKET_BONUS, "points": 100, "min_amount": Decimal("50")},
            {"kind": RuleKind.FIRST_PURCHASE_BONUS, "points": 50},
            {"kind": RuleKind.QUANTITY_BONUS, "points": 30, "min_quantity": 3, "skus": ["SOCK-1"]},
            {"kind": RuleKind.EVENT_POINTS, "points": 40, "event_type": EventType.objects.get(code="review")},
        ],
    )

    card = card_of(member_client.get(reverse("portal:earn")), "Weekend evenings")

    assert card["rules"] == [
        "2× points on shoes or bags",
        "+100 points on a basket of 50.00 EUR or more",
        "+50 points on your first purchase",
        "+30 points when you buy 3 or more of SOCK-1",
        "+40 extra points for: Review written",
    ]
    assert card["when"] == ["On Saturdays and Sundays", "From 18:00 to 22:00"]
    assert card["where"] == ["At Acme Stores", "When you buy through: store"]
    assert card["limits"] == [
        "Up to 500 points a week (500 left this week)",
        "While its points last: the offer ends when its budget is spent",
    ]


def test_the_cap_left_counts_what_the_member_already_got(member_client, member):
    multiplier_campaign(name="Capped", member_cap=25, cap_period=CapPeriod.CAMPAIGN)
    purchase_post(member, item(unit_price="15.00"), now=timezone.now(), occurred_at=timezone.now())

    card = card_of(member_client.get(reverse("portal:earn")), "Capped")

    assert card["limits"] == ["Up to 25 points in all (10 left)"]


def test_the_events_that_earn_points_are_listed_with_their_limits(member_client):
    CampaignFactory(
        name="Review bonus",
        rules=[{"kind": RuleKind.EVENT_POINTS, "points": 40, "event_type": EventType.objects.get(code="review")}],
    )
    EventType.objects.filter(code="survey").update(active=False)

    events = {event["name"]: event["words"] for event in member_client.get(reverse("portal:earn")).context["events"]}

    assert events == {
        "App installed": "50 points, once",
        "Birthday": "200 points, once a year",
        "Profile completed": "50 points, once",
        "Review written": "20 points, up to 3 times a day (+40 with a current offer) — once approved",
        "Social share": "10 points, up to 2 times a day",
    }


def test_the_page_reads_in_french_with_the_french_names(member_client, member):
    CampaignFactory(
        name="Double points weekend",
        name_fr="Points doublés le week-end",
        description="Every weekend.",
        description_fr="Chaque week-end.",
        rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 2}],
    )
    Member.objects.filter(pk=member.pk).update(language="fr")

    with translation.override("fr"):
        response = member_client.get(reverse("portal:earn"), HTTP_ACCEPT_LANGUAGE="fr")

    html = response.content.decode()
    assert "Points doublés le week-end" in html
    assert "Chaque week-end." in html
    assert "Avis rédigé" in html
    assert "Double points weekend" not in html


def earn_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("portal:earn")).status_code == 200
    return len(captured)


def test_the_page_runs_a_fixed_number_of_queries(member_client, member, gold):
    MemberTierFactory(member=member, tier=gold)
    CampaignFactory(
        member_cap=100, rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 2}], partners=[PartnerFactory()]
    )
    one = earn_queries(member_client)
    for n in range(6):
        CampaignFactory(
            tiers=[gold],
            members=[member],
            member_cap=10 * (n + 1),
            partners=[PartnerFactory(), PartnerFactory()],
            rules=[
                {"kind": RuleKind.MULTIPLIER, "multiplier": 3},
                {"kind": RuleKind.EVENT_POINTS, "points": 5, "event_type": EventType.objects.get(code="review")},
            ],
        )

    # session, user, member with account, its tier, the campaigns, their rules, their partners, the
    # member's usage of their caps, the event types
    assert (one, earn_queries(member_client)) == (9, 9)


# The history: each purchase opens its breakdown


def test_a_purchase_in_the_history_opens_its_breakdown(member_client, member, gold):
    MemberTierFactory(member=member, tier=gold)
    multiplier_campaign(name="Double points weekend", name_fr="Points doublés le week-end")
    now = timezone.now()
    purchase_post(member, item(unit_price="120.00"), now=now, occurred_at=now)

    response = member_client.get(reverse("portal:history"))

    entry = response.context["page"].object_list[0]
    assert entry.breakdown == ["Base: 120", "Double points weekend: 120", "Gold multiplier: 24"]
    html = response.content.decode()
    assert '<details class="breakdown" data-testid="breakdown">' in html
    assert "Base: 120, Double points weekend: 120, Gold multiplier: 24" in html
    assert "<script>" not in html.split("<main")[1]

    with translation.override("fr"):
        french = member_client.get(reverse("portal:history"), HTTP_ACCEPT_LANGUAGE="fr")
    labels = french.context["page"].object_list[0].breakdown
    assert labels[1].startswith("Points doublés le week-end")
    assert "Or" in labels[2]


def test_a_return_takes_its_points_out_of_the_breakdown(member_client, member):
    from tests.factories.campaigns import return_post

    now = timezone.now()
    purchase = purchase_post(member, item("A", "1", "30.00"), item("B", "1", "10.00"), now=now, occurred_at=now)
    return_post(purchase, items=[("B", 1)], now=now)

    entry = next(e for e in member_client.get(reverse("portal:history")).context["page"].object_list if e.breakdown)

    assert entry.breakdown == ["Base: 30"]


def history_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("portal:history")).status_code == 200
    return len(captured)


def test_the_history_with_breakdowns_runs_a_fixed_number_of_queries(member_client, member, gold):
    MemberTierFactory(member=member, tier=gold)
    multiplier_campaign()
    now = timezone.now()
    purchase_post(member, item(unit_price="10.00"), now=now, occurred_at=now)
    one = history_queries(member_client)
    for n in range(8):
        multiplier_campaign(name=f"More {n}")
        purchase_post(member, item(unit_price="10.00"), item("B", "2", "5.00"), now=now, occurred_at=now)

    # session, user, member, the count, the page, the page's awards (campaigns and tiers' names joined)
    assert (one, history_queries(member_client)) == (6, 6)
