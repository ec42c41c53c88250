"""A gift in Chromium: one member sends points with a message, in French too, and the other sees them."""

import re

from playwright.sync_api import expect

from loyalty.ledger import services as ledger
from members.models import Gift
from members.services import member_email_verify
from tests.factories.members import MemberFactory, gift_policy_set

PASSWORD = "a-long-enough-secret"


def portal_member(email: str, first_name: str):
    return member_email_verify(member=MemberFactory(email=email, first_name=first_name, password=PASSWORD))


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_member_sends_points_and_the_recipient_sees_them_in_their_history(page):
    gift_policy_set(enabled=True, per_gift_limit=500, daily_limit=800, monthly_limit=2000)
    ada, grace = portal_member("ada@example.com", "Ada"), portal_member("grace@example.com", "Grace")
    ledger.credit(ada.account, 1200)

    log_in(page, "ada@example.com")
    page.get_by_role("navigation").get_by_role("link", name="Send points").click()
    expect(page.get_by_test_id("allowance")).to_contain_text("Still 800 points today.")
    page.screenshot_step("gift-form")

    # A mistyped number is told at once, and nothing moves.
    page.get_by_label("Member number of the recipient").fill(grace.member_number[:-1] + "x")
    page.get_by_label("Points", exact=True).fill("150")
    page.get_by_role("button", name="Send the points").click()
    expect(page.get_by_text("This is not a member number: check every digit.")).to_be_visible()
    page.screenshot_step("gift-typo")

    page.get_by_label("Member number of the recipient").fill(grace.member_number)
    page.get_by_label("Points", exact=True).fill("150")
    page.get_by_label("Message").fill("Happy birthday, Grace!")
    page.get_by_role("button", name="Send the points").dblclick()  # a double click sends once
    expect(page.get_by_text(f"You sent 150 points to member {grace.member_number}.")).to_be_visible()
    expect(page.get_by_test_id("allowance")).to_contain_text("Still 650 points today.")
    expect(page.get_by_test_id("allowance")).to_contain_text("You have 1,050 points you can spend.")
    page.screenshot_step("gift-sent")
    assert Gift.objects.count() == 1

    page.get_by_role("button", name="Log out").click()
    log_in(page, "grace@example.com")
    expect(page.get_by_test_id("balance")).to_have_text("150")
    page.get_by_role("navigation").get_by_role("link", name="History").click()
    expect(
        page.get_by_text(f"Gift from member {ada.member_number}: \u201cHappy birthday, Grace!\u201d")
    ).to_be_visible()
    page.screenshot_step("recipient-history")

    # The recipient reads it in French too.
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Switch").click()
    expect(
        page.get_by_text(re.compile(rf"Cadeau du membre {ada.member_number} : « Happy birthday, Grace! »"))
    ).to_be_visible()
    expect(page.get_by_role("link", name="Envoyer des points")).to_be_visible()
    page.screenshot_step("recipient-history-fr")
