"""The member portal in a real headless Chromium: the member's whole first visit."""

import csv
import io
import json
import re
import urllib.request

from django.core import mail
from playwright.sync_api import expect

from loyalty.ledger import services as ledger
from members.models import Member
from members.services import member_email_verify
from tests.factories.members import MemberFactory
from tests.factories.partners import partner_key


def partner_adjusts(live_server, member_number: str, points: int, reason: str) -> dict:
    """A partner credits points through the real API, over HTTP, as a partner's system would."""
    _, key = partner_key()
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/members/{member_number}/adjustments/",
        data=json.dumps({"points": points, "reason": reason}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Idempotency-Key": "browser-1"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 201
        return json.load(response)


def confirmation_link(live_server, address: str) -> str:
    """The link of the last e-mail to ``address`` (the locmem outbox, shared with the live server's thread)."""
    body = next(message.body for message in reversed(mail.outbox) if message.to == [address])
    return re.search(rf"{re.escape(live_server.url)}(/confirm/\S+/)", body).group(1)


def test_a_member_signs_up_confirms_the_email_sees_partner_points_reads_french_and_downloads_the_csv(
    page, live_server
):
    # An anonymous visitor is sent to log in, and goes to join instead.
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.screenshot_step("login")
    page.get_by_role("link", name="Join the program").click()

    page.get_by_label("E-mail", exact=True).fill("grace@example.com")
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Password", exact=True).fill("a-long-enough-secret")
    page.get_by_label("Password again").fill("a-long-enough-secret")
    page.get_by_label("Send me offers").check()
    page.screenshot_step("signup")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    page.screenshot_step("signup-sent")

    # Before following the link, the right password is refused with a way to get a new link.
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill("grace@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-enough-secret")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Confirm your e-mail first")).to_be_visible()
    expect(page.get_by_role("link", name="Resend the link")).to_be_visible()
    page.screenshot_step("login-before-confirming")

    # The link from the e-mail confirms the address; then the member logs in.
    page.goto(confirmation_link(live_server, "grace@example.com"))
    page.get_by_role("button", name="Confirm my e-mail").click()
    expect(page.get_by_text("Your e-mail is confirmed.")).to_be_visible()
    page.get_by_label("E-mail", exact=True).fill("Grace@Example.com")
    page.get_by_label("Password", exact=True).fill("a-long-enough-secret")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Grace")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("0")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    # Log in again.
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("E-mail", exact=True).fill("Grace@Example.com")
    page.get_by_label("Password", exact=True).fill("a-long-enough-secret")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Grace")).to_be_visible()

    # A partner credits points through the API; the dashboard shows them.
    member = Member.objects.get(user__email="grace@example.com")
    reply = partner_adjusts(live_server, member.member_number, 250, "Welcome gift")
    assert (reply["balance"], reply["entry"]["amount"]) == (250, 250)
    page.reload()
    expect(page.get_by_test_id("balance")).to_have_text("250")
    expect(page.get_by_role("cell", name="Welcome gift")).to_be_visible()
    page.screenshot_step("dashboard")

    # Switch to French.
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("link", name="Mes points")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Calendrier d’expiration")).to_be_visible()
    page.screenshot_step("dashboard-fr")

    # History, filtered in place by htmx, then the CSV.
    page.get_by_role("navigation").get_by_role("link", name="Historique").click()
    expect(page.get_by_role("cell", name="Welcome gift")).to_be_visible()
    page.locator("details.filters-toggle > summary").click()
    page.get_by_label("Type").select_option("redeem")
    expect(page.get_by_text("Aucune opération ne correspond à ces filtres.")).to_be_visible()
    assert "kind=redeem" in page.url
    page.get_by_label("Type").select_option("")
    expect(page.get_by_role("cell", name="Welcome gift")).to_be_visible()
    page.screenshot_step("history-fr")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger en CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Date", "Type", "Points", "Solde après", "Motif"]
    assert [row[1:] for row in rows[1:]] == [["Ajustement", "250", "250", "Welcome gift"]]
    member.refresh_from_db()
    assert member.language == "fr"


def test_the_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_the_content(page):
    page.goto("/signup/")

    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail", exact=True)).to_be_focused()


def test_the_dashboard_fits_a_phone_screen(page):
    member = member_email_verify(member=MemberFactory(email="phone@example.com", password="a-long-enough-secret"))
    ledger.credit(member.account, 120, memo="A purchase with a rather long description to wrap")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill("phone@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-enough-secret")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_test_id("balance")).to_have_text("120")
    page.screenshot_step("dashboard-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
