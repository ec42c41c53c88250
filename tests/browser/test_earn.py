"""Earning in Chromium, in English and French: the admin's simulator, the portal's "Ways to earn", and a
purchase's breakdown opening in the history (a <details>: no script, CSP-clean)."""

from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import EventType, RuleKind
from members.services import member_email_verify
from tests.factories.campaigns import CampaignFactory, item, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.tiers import MemberTierFactory, TierFactory

PASSWORD = "a-long-enough-secret"


def program(language: str = "en"):
    """A Gold member (x1.2) and a live "Double points weekend" with a French name and a review bonus."""
    gold = TierFactory(name="Gold", name_fr="Or", earning_multiplier=Decimal("1.2"))
    member = member_email_verify(
        member=MemberFactory(
            email=f"ada-{language}@example.com", first_name="Ada", password=PASSWORD, language=language
        )
    )
    MemberTierFactory(member=member, tier=gold)
    # A live server's test flushes the database after it: the built-in type is set up again if missing.
    review, _created = EventType.objects.get_or_create(
        code="review",
        defaults={"name": "Review written", "name_fr": "Avis rédigé", "points": 20, "limit": "per_day"}
        | {"per_day": 3, "requires_approval": True, "builtin": True},
    )
    CampaignFactory(
        name="Double points weekend",
        name_fr="Points doublés le week-end",
        description="Twice the points on everything.",
        description_fr="Deux fois plus de points sur tout.",
        rules=[
            {"kind": RuleKind.MULTIPLIER, "multiplier": 2},
            {"kind": RuleKind.EVENT_POINTS, "points": 40, "event_type": review},
        ],
    )
    return member


def staff_log_in(page) -> None:
    User.objects.create_superuser("pat", password="a-long-staff-secret", first_name="Pat")
    page.goto("/admin/")
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill("a-long-staff-secret")
    page.get_by_role("button", name="Log in").click()


def member_log_in(page, email: str, password_label="Password", button="Log in") -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def switch_to_french(page, at: str = "/login/") -> None:
    page.goto(at)
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Switch").click()


def simulate(page, member_number: str) -> None:
    page.locator("#id_member_number").fill(member_number)
    page.locator("#id_lines-0-sku").fill("SKU-1")
    page.locator("#id_lines-0-quantity").fill("1")
    page.locator("#id_lines-0-unit_price").fill("120.00")
    page.get_by_test_id("simulate").click()


def test_staff_simulate_a_basket_from_the_admin_index_and_nothing_is_written(page):
    member = program()
    staff_log_in(page)
    page.goto("/admin/campaigns/campaign/add/")  # the rules inline and the tiers/partners selectors pass the CSP
    expect(page.locator("#id_tiers_from")).to_be_attached()
    page.goto("/admin/")

    page.get_by_role("link", name="Earning simulator").first.click()
    simulate(page, member.member_number)

    expect(page.get_by_test_id("simulation-summary")).to_have_text(
        "Base: 120, Double points weekend: 120, Gold multiplier: 24"
    )
    expect(page.get_by_test_id("simulation").get_by_role("heading")).to_have_text("264 points")
    page.screenshot_step("simulator")
    assert member.purchases.count() == 0
    member.account.refresh_from_db()
    assert member.account.balance == 0


def test_the_simulator_reads_the_campaigns_french_name_in_a_french_admin(page):
    member = program()
    staff_log_in(page)
    switch_to_french(page, at="/signup/sent/")  # the portal's language switch sets the cookie the admin reads too

    page.goto("/admin/campaigns/campaign/simulator/")
    simulate(page, member.member_number)

    summary = page.get_by_test_id("simulation-summary")
    expect(summary).to_contain_text("Points doublés le week-end")
    expect(summary).to_contain_text("Or")
    page.screenshot_step("simulator-fr")


def test_a_member_reads_the_ways_to_earn_and_opens_a_purchases_breakdown(page):
    member = program()
    now = timezone.now()
    purchase_post(member, item(unit_price="120.00"), now=now, occurred_at=now)
    member_log_in(page, member.user.email)

    page.get_by_role("navigation").get_by_role("link", name="Ways to earn").click()

    offer = page.get_by_test_id("offer")
    expect(offer.get_by_role("heading")).to_have_text("Double points weekend")
    expect(offer).to_contain_text("2× points on everything")
    expect(offer).to_contain_text("+40 extra points for: Review written")
    expect(page.get_by_test_id("event-way").filter(has_text="Review written")).to_contain_text(
        "20 points, up to 3 times a day (+40 with a current offer) — once approved"
    )
    page.screenshot_step("ways-to-earn")

    page.get_by_role("navigation").get_by_role("link", name="History").click()
    breakdown = page.get_by_test_id("breakdown").first
    text = breakdown.locator("p")
    expect(text).to_be_hidden()
    breakdown.locator("summary").click()
    expect(text).to_have_text("Base: 120, Double points weekend: 120, Gold multiplier: 24")
    page.screenshot_step("history-breakdown")


def test_a_french_member_reads_the_offers_and_the_breakdown_in_french(page):
    member = program("fr")
    now = timezone.now()
    purchase_post(member, item(unit_price="120.00"), now=now, occurred_at=now)
    switch_to_french(page)
    member_log_in(page, member.user.email, "Mot de passe", "Se connecter")

    page.goto("/earn/")

    offer = page.get_by_test_id("offer")
    expect(offer.get_by_role("heading")).to_have_text("Points doublés le week-end")
    expect(offer).to_contain_text("Deux fois plus de points sur tout.")
    expect(page.get_by_test_id("event-way").filter(has_text="Avis rédigé")).to_be_visible()
    page.screenshot_step("ways-to-earn-fr")

    page.goto("/history/")
    breakdown = page.get_by_test_id("breakdown").first
    breakdown.locator("summary").click()
    expect(breakdown.locator("p")).to_contain_text("Points doublés le week-end")
    expect(breakdown.locator("p")).to_contain_text("Or")
    page.screenshot_step("history-breakdown-fr")
