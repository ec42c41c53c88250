"""The Challenges page in Chromium, in English and in French: open missions with their steps and progress bar,
and a mission completed meanwhile showing its prize at once (the section polls)."""

from django.utils import timezone
from playwright.sync_api import expect

from members.services import member_email_verify
from missions.models import StepKind
from tests.factories.campaigns import item, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory
from tests.factories.partners import PartnerFactory

PASSWORD = "a-long-enough-secret"


def member_with_missions(email: str, language: str):
    member = member_email_verify(
        member=MemberFactory(email=email, first_name="Ada", password=PASSWORD, language=language)
    )
    MissionFactory(
        name="Coffee week",
        name_fr="Semaine du café",
        description="Three coffees this week.",
        description_fr="Trois cafés cette semaine.",
        prize_points=100,
        steps=[{"kind": StepKind.PURCHASES, "count": 3}, {"kind": StepKind.CATEGORY, "category": "coffee"}],
    )
    MissionFactory(name="First visit", name_fr="Première visite", prize_points=20, steps=[{"count": 2}])
    purchase_post(member, item(category="coffee"), partner=PartnerFactory(), now=timezone.now())
    return member


def log_in(page, email: str, password_label: str, button: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def test_an_english_member_follows_a_mission_to_its_prize(page):
    member = member_with_missions("ada@example.com", "en")
    log_in(page, "ada@example.com", "Password", "Log in")

    page.get_by_role("navigation").get_by_role("link", name="Challenges").click()

    expect(page.get_by_role("heading", name="Challenges", exact=True)).to_be_visible()
    coffee = page.get_by_test_id("mission").filter(has_text="Coffee week")
    expect(coffee).to_contain_text("Three coffees this week.")
    expect(coffee.get_by_test_id("mission-step")).to_have_count(2)
    expect(coffee.get_by_test_id("mission-step").first).to_contain_text("Make 3 purchases (1 of 3)")
    assert coffee.get_by_test_id("mission-progress").get_attribute("value") == "66"
    expect(coffee.get_by_test_id("mission-prize")).to_have_text("Prize: 100 points")
    page.screenshot_step("challenges")

    purchase_post(member, partner=PartnerFactory(), now=timezone.now())  # completes "First visit" meanwhile

    visit = page.get_by_test_id("mission").filter(has_text="First visit")
    expect(visit.get_by_test_id("mission-completed")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("completed-mission")).to_contain_text("First visit: 20 points")
    page.screenshot_step("completed")


def test_a_french_member_reads_the_missions_in_french(page):
    member_with_missions("alice@example.com", "fr")
    page.goto("/login/")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Switch").click()
    log_in(page, "alice@example.com", "Mot de passe", "Se connecter")

    page.goto("/challenges/")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    coffee = page.get_by_test_id("mission").filter(has_text="Semaine du café")
    expect(coffee).to_contain_text("Trois cafés cette semaine.")
    expect(coffee.get_by_test_id("mission-step")).to_have_count(2)
    expect(page.get_by_test_id("mission").filter(has_text="Première visite")).to_be_visible()
    page.screenshot_step("challenges-fr")
