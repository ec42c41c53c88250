"""Tiers in the staff admin in Chromium: the tier list's swatches and a status match on the member page."""

from datetime import timedelta

from django.contrib.auth.models import User
from playwright.sync_api import expect

from loyalty.clock import program_date
from members.tiers.models import MemberTier, TierChange
from tests.factories.members import MemberFactory
from tests.factories.tiers import MemberTierFactory, program_tiers


def test_staff_read_the_tier_list_and_set_a_members_tier_by_hand(page):
    User.objects.create_superuser("pat", password="a-long-staff-secret", first_name="Pat")
    silver, _, platinum = program_tiers()
    member = MemberFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    MemberTierFactory(tier=silver)  # someone else's tier, counted in the list

    page.goto("/admin/")
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill("a-long-staff-secret")
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/tiers/tier/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator("td.field-members")).to_have_text("1")
    assert rows.first.locator("circle").evaluate("c => getComputedStyle(c).fill") == "rgb(156, 163, 175)"
    page.screenshot_step("tiers")

    page.goto(f"/admin/members/member/{member.pk}/change/")
    until = program_date() + timedelta(days=60)
    form = page.locator("form", has=page.get_by_role("heading", name="Set tier by hand"))
    form.get_by_label("Tier").select_option(label="Platinum")
    form.get_by_label("Until (last day)").fill(until.isoformat())
    form.get_by_label("Reason").fill("Status match: Air X")
    page.get_by_role("button", name="Set the tier").click()

    expect(page.get_by_text("The member holds Platinum until")).to_be_visible()
    expect(page.get_by_test_id("staff-tier")).to_have_text("Platinum")
    expect(page.get_by_test_id("staff-tier-history")).to_contain_text("Set by staff: Status match: Air X")
    page.screenshot_step("member")
    assert MemberTier.objects.get(member=member).tier == platinum
    assert TierChange.objects.get(member=member).note == "Status match: Air X"
