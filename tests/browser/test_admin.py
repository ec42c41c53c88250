"""The staff admin in a real headless Chromium: a support agent's phone call, with no 500."""

from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission, User
from playwright.sync_api import expect

from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from loyalty.staff_groups import EXTRA_PERMISSIONS, GROUPS
from members.models import MemberStatus
from tests.factories.members import MemberFactory


def support_agent() -> User:
    """A support agent (the group is rebuilt: a live-server test's database is flushed between tests)."""
    group, _ = Group.objects.get_or_create(name="Support agent")
    for dotted in [*GROUPS["Support agent"]["permissions"], *EXTRA_PERMISSIONS["Support agent"]]:
        app_label, codename = dotted.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user = User.objects.create_user("sam", password="a-long-staff-secret", first_name="Sam", is_staff=True)
    user.groups.add(group)
    return user


def test_a_support_agent_finds_a_member_adjusts_reverses_suspends_and_lifts_a_lock(page, live_server):
    support_agent()
    member = MemberFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    ledger.credit(member.account, 100, memo="Welcome")
    AccessAttempt.objects.create(
        username=member.user.username,
        ip_address="203.0.113.7",
        user_agent="x",
        http_accept="*/*",
        path_info="/login/",
        get_data="",
        post_data="",
        failures_since_start=5,
    )
    failures = []
    page.on("response", lambda response: response.status >= 500 and failures.append(response.url))
    page.on("pageerror", lambda error: failures.append(str(error)))

    page.goto("/admin/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("a-long-staff-secret")
    page.get_by_role("button", name="Log in").click()
    page.screenshot_step("index")
    page.locator("tr.model-member").get_by_role("link", name="Members").click()

    # A digit misheard on the phone is caught by the check digit; then the right number finds the member.
    number = member.member_number
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    page.locator("#searchbar").fill(typo)
    page.locator("#searchbar").press("Enter")
    expect(page.get_by_text("a digit is mistyped")).to_be_visible()
    page.screenshot_step("mistyped-number")
    page.locator("#searchbar").fill(f"{number[:5]} {number[5:]}")
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(page.get_by_text("203.0.113.7")).to_be_visible()
    page.screenshot_step("member-page")

    # Adjust points with a reason.
    adjust = page.locator("form", has=page.get_by_role("button", name="Adjust"))
    adjust.get_by_label("Points").fill("50")
    adjust.get_by_label("Reason").fill("Missing receipt")
    adjust.get_by_role("button", name="Adjust").click()
    expect(page.get_by_text("Adjusted by +50 points: the balance is 150.")).to_be_visible()

    # Reverse part of the welcome credit.
    page.get_by_role("row", name="Welcome").get_by_role("link", name="Reverse").click()
    expect(page.get_by_label("Points to reverse")).to_have_value("100")
    page.get_by_label("Points to reverse").fill("40")
    page.get_by_label("Reason").fill("Credited twice")
    page.screenshot_step("reverse")
    page.get_by_role("button", name="Reverse").click()
    expect(page.get_by_text("Reversed: -40 points.")).to_be_visible()

    # Suspend, with a reason; then lift the login lock.
    suspend = page.locator("form", has=page.get_by_role("button", name="Suspend"))
    suspend.get_by_label("Reason").fill("Card reported stolen")
    suspend.get_by_role("button", name="Suspend").click()
    expect(page.get_by_text("The member is now suspended.")).to_be_visible()
    page.get_by_role("button", name="Lift the login lock").click()
    expect(page.get_by_text("The member can log in again.")).to_be_visible()
    expect(page.get_by_text("Not locked out.")).to_be_visible()
    page.screenshot_step("after-the-call")

    assert failures == []
    member.refresh_from_db()
    member.account.refresh_from_db()
    assert member.status == MemberStatus.SUSPENDED
    assert member.account.balance == 110
    assert list(member.account.entries.order_by("pk").values_list("kind", "amount")) == [
        (EntryKind.EARN, 100),
        (EntryKind.ADJUST, 50),
        (EntryKind.REVERSE, -40),
    ]
    assert not AccessAttempt.objects.exists()
