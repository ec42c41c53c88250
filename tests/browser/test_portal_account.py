"""The member's account in Chromium: data download, closing, a suspended member, a phone's first screen."""

import json
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from loyalty.ledger import services as ledger
from members.models import Member, MemberStatus
from members.services import member_email_verify, member_status_change
from tests.factories.members import MemberFactory

PASSWORD = "a-long-enough-secret"


def member_with_points(email: str, entries: int = 2) -> Member:
    member = member_email_verify(member=MemberFactory(email=email, first_name="Ada", password=PASSWORD))
    ledger.credit(member.account, 1200, memo="A big purchase")
    for number in range(entries - 2):
        ledger.credit(member.account, 5, memo=f"Coffee number {number}")
    ledger.credit(member.account, 45, available_at=timezone.now() + timedelta(days=10), memo="In its return window")
    return member


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_member_downloads_their_data_then_closes_the_account(page):
    member = member_with_points("ada@example.com")
    log_in(page, "ada@example.com")
    expect(page.get_by_test_id("balance")).to_have_text("1,200")
    expect(page.get_by_text("pending until")).to_be_visible()

    page.get_by_role("navigation").get_by_role("link", name="Profile").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    data = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert data["profile"]["member_number"] == member.member_number
    assert data["account"]["balance"] == 1200
    assert [entry["reason"] for entry in data["entries"]] == ["A big purchase", "In its return window"]
    page.screenshot_step("profile")

    page.get_by_role("link", name="Close my account…").click()
    expect(page.get_by_test_id("forfeit")).to_contain_text("Your 1,245 points will be lost")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Why are you leaving?").fill("Moving abroad")
    page.get_by_label("I understand").check()
    page.screenshot_step("close")
    page.get_by_role("button", name="Close my account for good").click()

    expect(page.get_by_text("Your account is closed.")).to_be_visible()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.screenshot_step("closed")
    member.refresh_from_db()
    assert member.status == MemberStatus.CLOSED

    # The closed account is answered like a wrong password.
    log_in(page, "ada@example.com")
    expect(page.get_by_text("This e-mail and password do not match.")).to_be_visible()


def test_a_suspended_member_looks_around_under_a_notice(page):
    member = member_with_points("sus@example.com")
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Fraud check", actor=None)

    log_in(page, "sus@example.com")

    expect(page.get_by_test_id("suspended-notice")).to_contain_text("Earning and spending points are paused")
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    expect(page.get_by_test_id("suspended-notice")).to_be_visible()
    page.screenshot_step("suspended-history")


def test_on_a_phone_the_first_history_row_shows_in_the_first_screen(page):
    member_with_points("phone@example.com", entries=40)
    page.set_viewport_size({"width": 375, "height": 667})
    log_in(page, "phone@example.com")

    page.get_by_role("navigation").get_by_role("link", name="History").click()

    first_row = page.locator("table.entries tbody tr").first
    expect(first_row).to_be_visible()
    box = first_row.bounding_box()
    assert box["y"] + box["height"] <= 667, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot_step("history-phone")

    # The filters open behind their toggle, without a script of ours.
    page.get_by_text("Filter by kind or date").click()
    expect(page.get_by_label("Kind")).to_be_visible()
    page.screenshot_step("history-phone-filters")
