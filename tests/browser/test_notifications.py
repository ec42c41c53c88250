"""Notifications in Chromium: the nav's badge counts the unread ones, marking one read (htmx) lowers it without a
reload, marking all read empties it; the pages pass the Content-Security-Policy."""

from playwright.sync_api import expect

from members.notifications.models import Notification, NotificationKind
from members.services import member_email_verify
from tests.browser.test_rewards import PASSWORD, log_in
from tests.factories.members import MemberFactory


def test_a_member_reads_the_notifications_and_the_badge_follows(page):
    member = member_email_verify(member=MemberFactory(email="ada@example.com", first_name="Ada", password=PASSWORD))
    for points in (10, 20, 30):
        Notification.objects.create(member=member, kind=NotificationKind.REFERRAL_CREDITED, params={"points": points})

    log_in(page, "ada@example.com")
    badge = page.get_by_test_id("notification-badge")
    expect(badge.locator("[aria-hidden]")).to_have_text("3")
    expect(page.get_by_role("link", name="Notifications 3 unread")).to_be_visible()
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_test_id("notification")).to_have_count(3)
    page.screenshot_step("list")

    newest = page.get_by_test_id("notification").first
    expect(newest).to_contain_text("A friend you invited earned you 30 points")
    newest.get_by_role("button", name="Mark as read").click()
    expect(newest.get_by_test_id("notification-read")).to_be_visible()
    expect(badge.locator("[aria-hidden]")).to_have_text("2")  # refreshed by htmx on the answer's HX-Trigger
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload

    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("button", name="Mark as read")).to_have_count(0)
    expect(badge).to_have_text("")
    page.screenshot_step("all-read")
    assert Notification.objects.filter(member=member, read_at=None).count() == 0
