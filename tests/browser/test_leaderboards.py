"""The Leaderboards page in Chromium, in English and in French: badges earned and to earn, the streak, joining a
leaderboard under a nickname (a refused one first), the rank, leaving; htmx swaps the leaderboard's card."""

from datetime import date

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext
from playwright.sync_api import expect

from loyalty.clock import program_date
from members.services import member_email_verify
from missions.leaderboards.services import leaderboard_join
from tests.factories.campaigns import item, purchase_post
from tests.factories.games import badge_make, first_purchase_badge, leaderboard_make
from tests.factories.members import MemberFactory

PASSWORD = "a-long-enough-secret"


def program(email: str, language: str):
    today = program_date()
    first_purchase_badge(name_fr="Premier achat")
    badge_make("ten", name="Ten purchases", name_fr="Dix achats", milestone="purchases", milestone_count=10)
    board = leaderboard_make(
        "Points race", name_fr="Course aux points", starts_on=today.replace(day=1), ends_on=date(today.year + 1, 1, 31)
    )
    rival = MemberFactory()
    purchase_post(rival, item(unit_price="80.00"), now=timezone.now())
    leaderboard_join(member=rival, leaderboard_id=board.pk, nickname="Rival")
    member = member_email_verify(
        member=MemberFactory(email=email, first_name="Ada", password=PASSWORD, language=language)
    )
    purchase_post(member, item(unit_price="120.00"), now=timezone.now())
    return member, board


def log_in(page, email: str, password_label: str, button: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def test_an_english_member_earns_a_badge_and_joins_a_leaderboard(page):
    program("ada@example.com", "en")
    log_in(page, "ada@example.com", "Password", "Log in")

    page.get_by_role("navigation").get_by_role("link", name="Challenges").click()

    expect(page.get_by_role("heading", name="Leaderboards", exact=True).first).to_be_visible()
    earned = page.get_by_test_id("badge-earned")
    expect(earned).to_have_count(1)
    with translation.override("en"):
        expect(earned).to_contain_text(f"First Purchase Earned on {date_format(program_date(), 'DATE_FORMAT')}")
    expect(page.get_by_test_id("badge-to-earn")).to_have_text("Ten purchases Make 10 purchases.")
    page.wait_for_function("[...document.querySelectorAll('.badge-icon')].every(img => img.naturalWidth === 64)")
    expect(page.get_by_test_id("streak-current")).to_have_text("1 day")
    expect(page.get_by_test_id("streak-longest")).to_have_text("Your longest: 1 day in a row.")
    page.screenshot_step("page")

    card = page.get_by_test_id("leaderboard")
    card.get_by_label("Nickname").fill("ada@example.com")
    card.get_by_role("button", name="Join").click()
    expect(card.get_by_role("alert")).to_contain_text("Use letters, digits, spaces, - and _ only")
    card.get_by_label("Nickname").fill("Ada Star")
    card.get_by_role("button", name="Join").click()

    expect(card.get_by_test_id("leaderboard-my-rank")).to_have_text("You are number 1 of 2, with 120.")
    expect(card.get_by_test_id("leaderboard-row")).to_have_text(["1 Ada Star 120", "2 Rival 80"])
    page.screenshot_step("joined")

    card.get_by_text("Change my nickname or leave").click()
    card.get_by_role("button", name="Leave this leaderboard").click()
    expect(card.get_by_role("button", name="Join")).to_be_visible()
    expect(card.get_by_test_id("leaderboard-row")).to_have_count(0)


def test_a_french_member_reads_the_page_in_french(page):
    program("alice@example.com", "fr")
    page.goto("/login/")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Switch").click()
    log_in(page, "alice@example.com", "Mot de passe", "Se connecter")

    page.goto("/challenges/")

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    with translation.override("fr"):
        today = date_format(program_date(), "DATE_FORMAT")
        earned_on = gettext("Earned on %(day)s") % {"day": today}
        join = pgettext("leaderboard", "Join")
        nickname = gettext("Nickname")
        rank = gettext("You are number %(rank)s of %(total)s, with %(score)s.") % {"rank": 1, "total": 2, "score": 120}
    expect(page.get_by_test_id("badge-earned")).to_contain_text(f"Premier achat {earned_on}")
    expect(page.get_by_test_id("badge-to-earn")).to_contain_text("Dix achats")
    card = page.get_by_test_id("leaderboard")
    expect(card.get_by_role("heading")).to_have_text("Course aux points")
    page.screenshot_step("page-fr")

    card.get_by_label(nickname).fill("Alice la Rapide")
    card.get_by_role("button", name=join).click()

    expect(card.get_by_test_id("leaderboard-my-rank")).to_have_text(rank)
    expect(card.get_by_test_id("leaderboard-row").first).to_have_text("1 Alice la Rapide 120")
    page.screenshot_step("joined-fr")
