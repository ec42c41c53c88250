"""The dashboard's figures of issue 12, each on a small data set made through the real services and counted by hand.

The current period is the last 30 days (today included), the previous one the 30 before. Rows
whose time the services take from the clock (members' ``joined_at``, referrals' ``created_at``)
are "now": those figures are read for a period placed so that now falls where the test needs it.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from campaigns.events import event_record
from loyalty.clock import add_months, program_date
from loyalty.ledger import services as ledger
from loyalty.reports import selectors
from loyalty.reports.selectors import Period
from members.referrals.models import ReferralPolicy
from members.referrals.services import (
    referral_code_for,
    referral_invite,
    referral_policy_get,
    referral_purchase_record,
)
from members.services import member_status_change
from members.tiers.services import member_tier_set, tier_recalculate_all
from rewards.services import redemption_create
from tests.factories.campaigns import bonus_campaign, item, multiplier_campaign, purchase_post, return_post
from tests.factories.events import EventTypeFactory
from tests.factories.members import MemberFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import policy_set, program_tiers

URL = reverse("admin:reports_dashboard")
DAY = timedelta(days=1)


@pytest.fixture
def now(db):
    return timezone.now()


@pytest.fixture
def today(now):
    return program_date(now)


@pytest.fixture
def period(today):
    return Period(today - 29 * DAY, today)


@pytest.fixture
def analyst(db):
    user = User.objects.create_user("analyst", password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Analyst"))
    return user


def funded(points=1000, at=None):
    """A member with ``points`` that never expire, credited at ``at``."""
    member = MemberFactory()
    ledger.credit(member.account, points, expires_on=None, now=at)
    return member


_keys = iter(range(1, 10**9))


def redeem(member, reward, at):
    return redemption_create(member=member, reward=reward, idempotency_key=f"k-{next(_keys)}", now=at).redemption


# Baskets and repeat purchases.


def test_average_basket_with_and_without_a_redemption_and_the_repeat_rate(now, period):
    reward = RewardFactory(points_cost=10)
    redeemer, buyer, earlier = funded(at=now - 50 * DAY), funded(at=now - 50 * DAY), funded(at=now - 50 * DAY)
    purchase_post(redeemer, item(unit_price="10.00"), now=now - DAY)
    purchase_post(redeemer, item(unit_price="32.00"), now=now - 2 * DAY)
    redeem(redeemer, reward, now - 3 * DAY)
    purchase_post(buyer, item(unit_price="20.00"), now=now - DAY)
    purchase_post(earlier, item(unit_price="50.00"), now=now - 40 * DAY)  # the previous period
    purchase_post(earlier, item(unit_price="15.00"), now=now - 45 * DAY)
    redeem(earlier, reward, now - 5 * DAY)  # a redemption in the current period: not one of the previous

    current, previous = selectors.purchase_totals(period), selectors.purchase_totals(period.previous())

    assert (current["buyers"], current["repeat_buyers"], str(current["repeat_rate"])) == (2, 1, "0.5000")
    assert current["basket_with"] == {
        "members": 1,
        "purchases": 2,
        "amount": Decimal("42.00"),
        "average": Decimal("21.00"),
    }
    assert current["basket_without"] == {
        "members": 1,
        "purchases": 1,
        "amount": Decimal("20.00"),
        "average": Decimal("20.00"),
    }
    assert (previous["buyers"], previous["repeat_buyers"], str(previous["repeat_rate"])) == (1, 1, "1.0000")
    assert previous["basket_with"]["average"] is None
    assert previous["basket_without"]["average"] == Decimal("32.50")


def test_no_purchase_is_no_rate_and_no_average(period, db):
    totals = selectors.purchase_totals(period)

    assert (totals["buyers"], totals["repeat_rate"], totals["basket_with"]["average"]) == (0, None, None)


# Churn.


def test_churn_counts_members_without_an_entry_in_the_last_n_days(now, today):
    """Everyone joined now; the periods are ~200 days ahead, so all joined before both windows."""
    steady, lapsed, idle, back = (MemberFactory() for _ in range(4))
    ledger.credit(steady.account, 10, expires_on=None, now=now + 150 * DAY)
    ledger.credit(lapsed.account, 10, expires_on=None, now=now + 120 * DAY)
    ledger.credit(back.account, 10, expires_on=None, now=now + 210 * DAY)
    current = Period(today + 200 * DAY, today + 229 * DAY)  # 90 days: from today + 140
    previous = current.previous()  # ends today + 199; 90 days: from today + 110

    assert selectors.churn(current, 90) == {"days": 90, "members": 4, "inactive": 2, "rate": Decimal("0.5000")}
    assert selectors.churn(previous, 90) == {"days": 90, "members": 4, "inactive": 2, "rate": Decimal("0.5000")}
    assert selectors.churn(current, 30)["inactive"] == 3  # from today + 200: only the one back at + 210
    assert selectors.churn(Period(today - 29 * DAY, today), 90) == {
        "days": 90,
        "members": 0,  # nobody joined before the window
        "inactive": 0,
        "rate": None,
    }
    del idle


def test_the_churn_window_is_a_form_field(client, analyst, now, today):
    MemberFactory()
    client.force_login(analyst)
    end = today + 100 * DAY
    query = {"start": (end - 29 * DAY).isoformat(), "end": end.isoformat()}

    default = client.get(URL, query).context["report"]["figures"]["current"]["churn"]
    chosen = client.get(URL, {**query, "inactive_days": "200"}).context["report"]["figures"]["current"]["churn"]

    assert (default["days"], default["members"], default["inactive"]) == (90, 1, 1)
    assert (chosen["days"], chosen["members"]) == (200, 0)  # the window starts before the member joined


@pytest.mark.parametrize("days", ["0", "-3", "9999", "ninety"])
def test_a_bad_churn_window_is_a_form_error(client, analyst, days):
    client.force_login(analyst)

    response = client.get(URL, {"inactive_days": days})

    assert response.status_code == 200
    assert response.context["report"] is None
    assert "inactive_days" in response.context["form"].errors


# Tiers.


def test_tier_distribution_now_and_movements_per_period(now, period):
    silver, gold, platinum = program_tiers()
    policy_set(window_months=1, grace_months=0)
    staff = User.objects.create_superuser("boss", password="pw-staff-123")
    first, second, manual, idle, closed = (MemberFactory() for _ in range(5))
    ledger.credit(second.account, 2500, expires_on=None, now=now - 40 * DAY)  # up to Gold, previous period
    ledger.credit(first.account, 600, expires_on=None, now=now - 2 * DAY)  # up to Silver
    ledger.credit(manual.account, 600, expires_on=None, now=now - 3 * DAY)  # up to Silver
    tier_recalculate_all(now=now - DAY)  # Gold's points left the one-month window, no grace: down to no tier
    member_tier_set(member=manual, tier=platinum, until=program_date(now) + DAY, reason="VIP", actor=staff)
    member_status_change(member=closed, status="closed", reason="asked", actor=None)

    tiers = selectors.tier_distribution()
    current, previous = selectors.tier_movements(period), selectors.tier_movements(period.previous())

    assert [(row["label"], row["members"]) for row in tiers] == [
        ("Silver", 1),
        ("Gold", 0),
        ("Platinum", 1),
        ("No tier", 2),  # second and idle; the closed member is left out
    ]
    assert (current["upgrades"], current["downgrades"], current["other"]) == (3, 1, 0)
    assert [(row["from"], row["to"], row["direction"], row["changes"]) for row in current["pairs"]] == [
        ("No tier", "Silver", "up", 2),
        ("Silver", "Platinum", "up", 1),
        ("Gold", "No tier", "down", 1),
    ]
    assert (previous["upgrades"], previous["downgrades"]) == (1, 0)
    assert previous["pairs"] == [{"from": "No tier", "to": "Gold", "direction": "up", "changes": 1}]
    del first, idle, silver, gold


def test_without_tiers_everyone_has_no_tier(db):
    MemberFactory.create_batch(2)

    assert selectors.tier_distribution() == [
        {"tier": None, "label": "No tier", "rank": None, "colour": "#6b7280", "members": 2}
    ]


# Referrals.


def referral_data():
    """Six referrals made now: an invitation nobody took up, a friend who bought too little, two who did not buy,
    one flagged (a second sign-up from one address) who qualified, one credited."""
    referral_policy_get()
    ReferralPolicy.objects.filter(pk=1).update(signups_per_address_per_day=1, min_purchase_amount=Decimal("20.00"))
    referrer = MemberFactory()
    code = referral_code_for(member=referrer).code
    referral_invite(referrer=referrer, email="someone@example.com", site_url="http://testserver")
    credited, small, _silent = (MemberFactory(referral_code=code) for _ in range(3))
    MemberFactory(referral_code=code, client_address="198.51.100.7")
    flagged = MemberFactory(referral_code=code, client_address="198.51.100.7")
    for friend, amount in ((credited, "30.00"), (small, "5.00"), (flagged, "30.00")):
        referral_purchase_record(member=friend, amount=Decimal(amount), currency="EUR", purchase_ref=f"P-{friend.pk}")
    assert flagged.referral.status == "flagged"


def test_referral_funnel_of_the_referrals_made_in_the_period(client, analyst, today):
    referral_data()
    client.force_login(analyst)
    later = {"start": (today + 30 * DAY).isoformat(), "end": (today + 59 * DAY).isoformat()}

    now_figures = client.get(URL).context["report"]["figures"]
    later_figures = client.get(URL, later).context["report"]["figures"]

    expected = {
        "made": 6,
        "enrolled": 5,
        "qualified": 2,
        "credited": 1,
        "enrolled_rate": Decimal("0.8333"),
        "qualified_rate": Decimal("0.4000"),
        "credited_rate": Decimal("0.5000"),
    }
    assert now_figures["current"]["referrals"] == expected
    assert now_figures["previous"]["referrals"]["made"] == 0
    assert later_figures["previous"]["referrals"] == expected  # now is in the previous period there
    assert later_figures["current"]["referrals"] == {
        "made": 0,
        "enrolled": 0,
        "qualified": 0,
        "credited": 0,
        "enrolled_rate": None,
        "qualified_rate": None,
        "credited_rate": None,
    }


# Campaigns and rewards.


@pytest.fixture
def sales(now):
    """Two campaigns: x2 on every line, a bonus of 50 on baskets of 20.00 or more. Purchases of 10.00 (returned
    since) and 30.00 in the period, 100.00 in the previous one; an event of 25 points (base) in the period."""
    double = multiplier_campaign(2, name="Double")
    big = bonus_campaign(50, rule={"min_amount": Decimal("20.00")}, name="Big basket")
    first, second = MemberFactory(), MemberFactory()
    small = purchase_post(first, item(unit_price="10.00"), now=now - DAY)
    purchase_post(second, item(unit_price="30.00"), now=now - DAY)
    purchase_post(first, item(unit_price="100.00"), now=now - 40 * DAY)
    EventTypeFactory(code="dash-review", points=25)
    event_record(
        member=first, event_type_code="dash-review", external_id="E-1", occurred_at=now - DAY, attributes={}, now=now
    )
    return_post(small, amount="10.00", now=now)
    return double, big


def test_points_by_source_and_the_top_campaigns(period, sales):
    double, big = sales

    rows = selectors.points_by_source(period)
    top = selectors.top_campaigns(rows)

    assert [(row["label"], row["points"], row["net"], row["sales"], row["purchases"]) for row in rows] == [
        ("Base rate", 10 + 30 + 25, 30 + 25, Decimal("40.00"), 2),
        ("Big basket", 50, 50, Decimal("30.00"), 1),
        ("Double", 10 + 30, 30, Decimal("40.00"), 2),
    ]
    assert [row["campaign"] for row in top["points"]] == [big.pk, double.pk]
    assert [row["campaign"] for row in top["sales"]] == [double.pk, big.pk]


def test_points_by_source_reconcile_with_what_purchases_and_events_issued(period, sales):
    issued = selectors.ledger_totals(period)["issued"]

    assert sum(row["points"] for row in selectors.points_by_source(period)) == issued == 10 * 2 + 30 * 2 + 50 + 25


def test_the_previous_periods_purchase_is_in_the_previous_period_only(period, sales):
    rows = selectors.points_by_source(period.previous())

    assert [(row["label"], row["points"], row["sales"]) for row in rows] == [
        ("Base rate", 100, Decimal("100.00")),
        ("Double", 100, Decimal("100.00")),
        ("Big basket", 50, Decimal("100.00")),
    ]


def test_top_rewards_by_redemptions_and_by_points(now, period):
    cheap, dear = RewardFactory(points_cost=10, name="Coffee"), RewardFactory(points_cost=100, name="Lunch")
    first, second = funded(at=now - 50 * DAY), funded(at=now - 50 * DAY)
    for days in (1, 2, 3):
        redeem(first, cheap, now - days * DAY)
    redeem(second, dear, now - DAY)
    redeem(second, dear, now - 40 * DAY)  # the previous period
    redeem(second, dear, now - 41 * DAY)

    top = selectors.top_rewards(period)

    assert [(row["label"], row["redemptions"], row["units"], row["points"]) for row in top["redemptions"]] == [
        ("Coffee", 3, 3, 30),
        ("Lunch", 1, 1, 100),
    ]
    assert [row["label"] for row in top["points"]] == ["Lunch", "Coffee"]
    assert selectors.top_rewards(period.previous())["points"][0]["points"] == 200


# Over time.


def test_points_per_day_over_the_period(now, period):
    member = MemberFactory()
    ledger.credit(member.account, 40, expires_on=program_date(now - 10 * DAY), now=now - 20 * DAY)
    ledger.debit(member.account, 30, now=now - 15 * DAY)
    ledger.expire_due(now=now - 5 * DAY)  # the 10 left
    ledger.credit(member.account, 100, expires_on=None, now=now - DAY)
    ledger.debit(member.account, 20, now=now - DAY)

    series = selectors.ledger_series(period)

    assert series["step"] == "day"
    assert [row["start"] for row in series["points"]] == [period.start + n * DAY for n in range(30)]
    by_day = {row["start"]: (row["issued"], row["redeemed"], row["expired"]) for row in series["points"]}
    assert by_day[program_date(now - 20 * DAY)] == (40, 0, 0)
    assert by_day[program_date(now - 15 * DAY)] == (0, 30, 0)
    assert by_day[program_date(now - 5 * DAY)] == (0, 0, 10)
    assert by_day[program_date(now - DAY)] == (100, 20, 0)
    assert sum(value for values in by_day.values() for value in values) == 40 + 30 + 10 + 100 + 20


def test_a_long_period_is_drawn_per_week_and_a_very_long_one_per_month(now, today):
    member = MemberFactory()
    ledger.credit(member.account, 70, expires_on=None, now=now)
    weekly = Period(today - 99 * DAY, today)
    monthly = Period(today - 1000 * DAY, today)

    weeks = selectors.ledger_series(weekly)
    months = selectors.ledger_series(monthly)

    assert weeks["step"] == "week"
    assert weeks["points"][0]["start"] == weekly.start
    assert all(row["start"].weekday() == 0 for row in weeks["points"][1:])
    assert weeks["points"][-1]["issued"] == 70
    assert len(weeks["points"]) in (15, 16)  # 100 days cut into Monday weeks
    assert months["step"] == "month"
    assert months["points"][-1] == {"start": today.replace(day=1), "issued": 70, "redeemed": 0, "expired": 0}
    assert sum(row["issued"] for row in months["points"]) == 70


# The expiry forecast.


def test_expiry_forecast_of_open_lots_per_month(now, today):
    first_day = today.replace(day=1)
    member, other = MemberFactory(), MemberFactory()
    ledger.credit(member.account, 100, expires_on=add_months(first_day, 1) + 4 * DAY, now=now)
    ledger.debit(member.account, 30, now=now)  # 70 left
    ledger.credit(member.account, 20, expires_on=today, now=now)
    ledger.credit(member.account, 40, expires_on=add_months(first_day, 11), now=now)
    ledger.credit(member.account, 99, expires_on=add_months(first_day, 12), now=now)  # beyond the 12 months
    ledger.credit(member.account, 500, expires_on=None, now=now)  # never expires
    ledger.credit(other.account, 15, expires_on=today - 5 * DAY, now=now - 10 * DAY)  # past its last day, not run

    forecast = selectors.expiry_forecast(today)

    assert [row["month"] for row in forecast] == [add_months(first_day, n) for n in range(12)]
    assert [(row["points"], row["lots"]) for row in forecast] == [
        (20 + 15, 2),
        (70, 1),
        *[(0, 0)] * 9,
        (40, 1),
    ]
    assert forecast[0]["value"] == Decimal("0.35")


# The page: charts, tables, downloads.


def test_the_page_draws_each_chart_with_a_title_and_no_inline_style(client, analyst, now, sales):
    silver, _gold, _platinum = program_tiers()
    client.force_login(analyst)

    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<svg class="chart" role="img"') == page.count("<title id=") == page.count("<desc id=") == 5
    assert "style=" not in page
    assert "<script" not in page.split('id="content"')[1]
    assert f'fill="{silver.colour}"' in page
    assert 'class="chart-line chart-issued"' in page
    assert 'data-testid="top-campaigns-points"' in page


@pytest.mark.parametrize(
    ("name", "header", "row"),
    [
        ("figures", "Figure,This period,Previous period", "Points issued,155,250"),
        ("sources", "Source,Points,Net of returns,Matched sales,Purchases", "Big basket,50,50,30.00,1"),
        ("top-campaigns-sales", "Campaign,Points,Net of returns,Matched sales,Purchases", "Double,40,30,40.00,2"),
        ("kinds", "Kind,Points", "Earned,130"),
        ("forecast", "Month,Points,Lots,Value", ",0,0,0.00"),
        ("referrals", "Stage,This period,Previous period", "Referrals made,0,0"),
        ("tiers", "Tier,Members", "No tier,2"),
    ],
)
def test_each_data_set_downloads_as_csv(client, analyst, sales, name, header, row):
    client.force_login(analyst)

    response = client.get(URL, {"download": name})

    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="dashboard-{name}.csv"'
    lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0] == header
    assert any(line.endswith(row) for line in lines[1:])


def test_every_download_answers(client, analyst, sales):
    from loyalty.reports.views import DOWNLOADS

    client.force_login(analyst)

    for name in DOWNLOADS:
        response = client.get(URL, {"download": name})
        assert (name, response.status_code) == (name, 200)
        assert b"".join(response.streaming_content).decode().startswith("\ufeff")


@pytest.mark.parametrize("name", ["nope", "", "../kinds", "KINDS"])
def test_an_unknown_download_is_a_404(client, analyst, name):
    client.force_login(analyst)

    assert client.get(URL, {"download": name}).status_code == 404


def test_a_download_is_refused_without_the_permission(client, db):
    client.force_login(User.objects.create_user("staff", password="pw-x-12345", is_staff=True))

    assert client.get(URL, {"download": "figures"}).status_code == 403
