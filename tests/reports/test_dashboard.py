from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry
from members.tiers.models import Tier
from tests.factories.members import MemberFactory

URL = reverse("admin:reports_dashboard")


@pytest.fixture
def analyst(db):
    user = User.objects.create_user("analyst", password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Analyst"))
    return user


@pytest.fixture
def ledger_data(db):
    now = timezone.now()
    first, second, _idle = MemberFactory(), MemberFactory(), MemberFactory()
    ledger.credit(first.account, 100, expires_on=None, now=now)
    ledger.credit(second.account, 50, expires_on=None, now=now)
    ledger.debit(first.account, 30, now=now)
    ledger.credit(first.account, 999, expires_on=None, now=now - timedelta(days=40))  # the previous period
    return now


def test_figures_of_a_small_data_set(client, analyst, ledger_data):
    client.force_login(analyst)
    response = client.get(URL)
    assert response.status_code == 200
    current = response.context["report"]["figures"]["current"]
    previous = response.context["report"]["figures"]["previous"]
    assert (current["issued"], current["redeemed"], current["active"], current["members"]) == (150, 30, 2, 3)
    assert str(current["redemption_rate"]) == "0.2000"
    assert previous["issued"] == 999
    assert response.context["report"]["outstanding"]["points"] == 100 + 50 - 30 + 999


def test_totals_reconcile_with_the_ledger(client, analyst, ledger_data):
    client.force_login(analyst)
    outstanding = client.get(URL).context["report"]["outstanding"]["points"]
    assert outstanding == sum(Entry.objects.values_list("amount", flat=True))


QUERIES = 34  # the request's 4 (session, user, its permissions), then 30 for selectors.dashboard (no snapshot yet)


def more_of_everything(now, count: int) -> None:
    """``count`` more of what each figure reads: purchases matched by campaigns, events, redemptions, referrals
    (one credited), tier changes, lots that expire, over both periods."""
    from decimal import Decimal

    from campaigns.events import event_record
    from members.referrals.services import referral_code_for, referral_purchase_record
    from rewards.services import redemption_create
    from tests.factories.campaigns import bonus_campaign, item, multiplier_campaign, purchase_post
    from tests.factories.events import EventTypeFactory
    from tests.factories.rewards import RewardFactory
    from tests.factories.tiers import program_tiers

    if not Tier.objects.exists():
        program_tiers()
        multiplier_campaign(2)
        bonus_campaign(5)
        EventTypeFactory(code="dash-event", points=5)
    reward = RewardFactory(points_cost=10)
    referrer = MemberFactory()
    code = referral_code_for(member=referrer).code
    for number in range(count):
        member = MemberFactory(referral_code=code)
        for days in (1, 2, 35):
            purchase_post(member, item(unit_price="30.00"), now=now - timedelta(days=days))
        referral_purchase_record(member=member, amount=Decimal(30), currency="EUR", purchase_ref=f"Q-{member.pk}")
        event_record(
            member=member, event_type_code="dash-event", external_id=f"E-{member.pk}",
            occurred_at=now, attributes={}, now=now,
        )  # fmt: skip
        ledger.credit(member.account, 600, now=now)  # a lot expiring by the policy; up to Silver
        redemption_create(member=member, reward=reward, idempotency_key=f"r-{member.pk}-{number}", now=now)


def test_fixed_number_of_queries_at_two_data_sizes(client, analyst, ledger_data, django_assert_num_queries):
    client.force_login(analyst)
    client.get(URL)
    MemberFactory.create_batch(3)
    with django_assert_num_queries(QUERIES):
        assert client.get(URL).status_code == 200

    more_of_everything(ledger_data, 4)

    with django_assert_num_queries(QUERIES):
        response = client.get(URL)
    assert response.status_code == 200
    report = response.context["report"]
    assert report["figures"]["current"]["referrals"]["credited"] == 4
    assert report["figures"]["current"]["tier_movements"]["upgrades"] == 4 + 2  # the referrer: 500, then 2,000
    assert len(report["top_campaigns"]["points"]) == 2
    assert report["top_rewards"]["redemptions"][0]["redemptions"] == 4


def test_a_download_runs_no_more_queries_than_the_page(client, analyst, ledger_data, django_assert_num_queries):
    client.force_login(analyst)
    client.get(URL)
    with django_assert_num_queries(QUERIES):
        response = client.get(URL, {"download": "sources"})
    assert response.status_code == 200


def test_bad_dates_are_a_form_error(client, analyst):
    client.force_login(analyst)
    response = client.get(URL, {"start": "2026-13-45"})
    assert response.status_code == 200
    assert response.context["report"] is None
    response = client.get(URL, {"start": "2026-12-01", "end": "2026-11-01"})
    assert response.context["form"].errors


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-05"), ("9999-12-20", "9999-12-31")])
def test_a_period_at_the_calendars_edges_is_a_form_error_not_a_500(client, analyst, start, end):
    client.force_login(analyst)

    response = client.get(URL, {"start": start, "end": end})

    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": ["The period must fall between 1970 and 9000."]}


def test_csv_download(client, analyst, ledger_data):
    client.force_login(analyst)
    response = client.get(URL, {"download": "kinds"})
    assert response["Content-Type"].startswith("text/csv")
    assert "150" in b"".join(response.streaming_content).decode()


def test_refused_to_anonymous_and_non_staff(client, db):
    assert client.get(URL).status_code == 302
    client.force_login(User.objects.create_user("member", password="pw-x-12345"))
    assert client.get(URL).status_code == 302
    client.force_login(User.objects.create_user("staff", password="pw-x-12345", is_staff=True))
    assert client.get(URL).status_code == 403


QUERIES_ROLLED_UP = 33  # the request's 4, then 29: one read of the snapshots for the tier and forecast queries


def test_fixed_number_of_queries_on_the_rollups_at_two_data_sizes(
    client, analyst, ledger_data, django_assert_num_queries
):
    from loyalty.reports import rollup

    client.force_login(analyst)
    now = timezone.now()
    member, other = MemberFactory(), MemberFactory()
    for days_ago in (40, 20, 3):  # entries in closed days, then the rollups up to yesterday
        ledger.credit(member.account, 10, now=now - timedelta(days=days_ago))
    rollup.close_days()
    rollup.snapshot_now()
    client.get(URL)
    with django_assert_num_queries(QUERIES_ROLLED_UP):
        before = client.get(URL)

    more_of_everything(ledger_data, 4)
    for days_ago in (10, 5, 2):
        ledger.credit(other.account, 10, now=now - timedelta(days=days_ago))
    rollup.close_days()

    with django_assert_num_queries(QUERIES_ROLLED_UP):
        response = client.get(URL)
    assert response.status_code == 200
    assert b'data-testid="tiers-as-of"' in response.content
    assert b'data-testid="rollup"' in response.content
    issued = before.context["report"]["figures"]["current"]["issued"]
    assert response.context["report"]["figures"]["current"]["issued"] > issued
