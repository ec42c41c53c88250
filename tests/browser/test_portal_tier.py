"""The member's tier in Chromium, in English and in French: the dashboard's block, then *My tier*."""

from datetime import timedelta

from django.utils import translation
from django.utils.formats import date_format
from playwright.sync_api import expect

from loyalty.clock import add_months, program_date
from members.services import member_email_verify
from members.templatetags.portal import points
from members.tiers.models import TierChangeReason
from tests.factories.members import MemberFactory
from tests.factories.tiers import MemberTierFactory, QualifyingDayFactory, TierChangeFactory, program_tiers

PASSWORD = "a-long-enough-secret"


def silver_member(email: str, language: str):
    """A Silver member with 750 points in the window, the oldest 300 of them earned 40 days ago."""
    silver, _, _ = program_tiers()
    member = member_email_verify(
        member=MemberFactory(email=email, first_name="Ada", password=PASSWORD, language=language)
    )
    today = program_date()
    oldest = today - timedelta(days=40)
    QualifyingDayFactory(member=member, day=oldest, points=300)
    QualifyingDayFactory(member=member, day=today - timedelta(days=3), points=450)
    MemberTierFactory(member=member, tier=silver, qualified_on=today)
    TierChangeFactory(member=member, from_tier=None, to_tier=silver, reason=TierChangeReason.QUALIFIED)
    by = add_months(oldest, 12) - timedelta(days=1)
    return member, by, add_months(by, 12) + timedelta(days=1)


def in_language(language: str, day):
    with translation.override(language):
        return date_format(day, "DATE_FORMAT"), points(1250)


def log_in(page, email: str, password_label: str, button: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def test_an_english_member_follows_the_dashboard_to_the_tier_page(page):
    _, by, downgrade = silver_member("ada@example.com", "en")
    by_text, missing = in_language("en", by)
    log_in(page, "ada@example.com", "Password", "Log in")

    block = page.get_by_test_id("dashboard-tier")
    expect(block.get_by_test_id("tier-name")).to_have_text("Silver")
    expect(block.get_by_test_id("tier-to-next")).to_have_text(f"{missing} points to Gold by {by_text}")
    page.screenshot_step("dashboard")
    block.get_by_role("link", name="See my tier and what keeps it").click()

    expect(page.get_by_role("heading", name="My tier", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="My tier")).to_have_attribute(
        "aria-current", "page"
    )
    bar = page.locator("progress.tier-progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("750", "2000")
    assert page.locator(".tier-swatch circle").first.evaluate("c => getComputedStyle(c).fill") == "rgb(156, 163, 175)"
    expect(page.get_by_test_id("tier-benefits")).to_have_text("Free coffee on your birthday")
    expect(page.get_by_test_id("tier-why")).to_have_text(
        "You hold Silver because you reached its threshold of 500 points."
    )
    expect(page.get_by_test_id("tier-keep")).to_have_text(
        "To keep Silver, keep at least 500 points earned within the last 12 months."
    )
    expect(page.get_by_test_id("tier-downgrade")).to_have_text(
        f"If nothing changes, you no longer hold Silver from {in_language('en', downgrade)[0]}."
    )
    expect(page.get_by_test_id("tier-history").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("tier-history")).to_contain_text("Reached the threshold")
    page.screenshot_step("tier")


def test_a_french_member_reads_the_tier_page_in_french(page):
    _, by, downgrade = silver_member("alice@example.com", "fr")
    by_text, missing = in_language("fr", by)
    page.goto("/login/")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Switch").click()
    log_in(page, "alice@example.com", "Mot de passe", "Se connecter")

    page.get_by_role("navigation").get_by_role("link", name="Mon niveau").click()

    expect(page.get_by_role("heading", name="Mon niveau", exact=True)).to_be_visible()
    expect(page.get_by_test_id("tier-name")).to_have_text("Argent")
    expect(page.get_by_test_id("tier-to-next")).to_have_text(f"{missing} points pour Or d’ici le {by_text}")
    expect(page.get_by_test_id("tier-benefits")).to_have_text("Un café offert pour votre anniversaire")
    expect(page.get_by_test_id("tier-why")).to_have_text(
        "Vous avez le niveau Argent car vous avez atteint son seuil de 500 points."
    )
    expect(page.get_by_test_id("tier-downgrade")).to_have_text(
        f"Si rien ne change, vous n’aurez plus le niveau Argent à partir du {in_language('fr', downgrade)[0]}."
    )
    expect(page.get_by_test_id("tier-history")).to_contain_text("Seuil atteint")
    page.screenshot_step("tier-fr")
