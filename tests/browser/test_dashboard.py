"""The program dashboard in a real headless Chromium: its charts pass the CSP (no inline style, no script)."""

from datetime import timedelta
from decimal import Decimal

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from loyalty.ledger import services as ledger
from loyalty.staff_groups import sync_staff_groups
from tests.factories.campaigns import bonus_campaign, item, multiplier_campaign, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.tiers import program_tiers


def analyst() -> User:
    """An analyst (the group is rebuilt: a live-server test's database is flushed between tests)."""
    sync_staff_groups(django_apps)
    group = Group.objects.get(name="Analyst")
    user = User.objects.create_user("ana", password="a-long-staff-secret", is_staff=True)
    user.groups.add(group)
    return user


def test_an_analyst_reads_the_dashboards_charts_and_downloads_a_table(page, live_server):
    analyst()
    program_tiers()
    multiplier_campaign(2, name="Double")
    bonus_campaign(50, rule={"min_amount": Decimal("20.00")}, name="Big basket")
    now = timezone.now()
    for days, price in ((1, "10.00"), (3, "30.00"), (8, "55.00"), (20, "700.00")):
        purchase_post(MemberFactory(), item(unit_price=price), now=now - timedelta(days=days))
    ledger.credit(MemberFactory().account, 300, expires_on=(now + timedelta(days=40)).date(), now=now)

    page.goto("/admin/reports/dashboard/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("a-long-staff-secret")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("img", name="Points issued, redeemed and expired")).to_be_visible()
    expect(page.get_by_role("img", name="Referral funnel")).to_be_visible()
    expect(page.get_by_test_id("top-campaigns-points")).to_contain_text("Big basket")
    page.screenshot_step("dashboard")
    with page.expect_download() as download:
        page.locator("a[href*='download=top-campaigns-sales']").click()
    assert download.value.suggested_filename == "dashboard-top-campaigns-sales.csv"
