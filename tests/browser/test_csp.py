"""The Content-Security-Policy holds on every door: the portal, the admin and the API docs pass it
in Chromium with no violation and nothing fetched from another origin (the ``page`` fixture
fails a test on any CSP violation or console error)."""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from loyalty.ledger import services as ledger
from members.services import member_email_verify
from tests.factories.members import MemberFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture
def offline(page, live_server):
    """Refuse and record every request to another origin: the pages must work offline."""
    own = urlsplit(live_server.url).netloc
    elsewhere = []

    def route(route):
        if urlsplit(route.request.url).netloc in (own, "") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    yield page
    assert elsewhere == []


def visit(page, path: str):
    response = page.goto(path)
    assert response.status == 200, path
    policy = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy, path
    assert "script-src 'self'" in policy, path
    assert "unsafe-inline" not in policy, path
    return response


def test_the_portal_pages_pass_the_csp(offline, transactional_db):
    page = offline
    member = member_email_verify(member=MemberFactory(email="ada@example.com", first_name="Ada", password=PASSWORD))
    ledger.adjust(member.account, 120, reason="Welcome gift")

    visit(page, "/signup/")
    visit(page, "/login/")
    page.get_by_label("E-mail", exact=True).fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Hello, Ada")).to_be_visible()

    for path in ("/", "/card/", "/profile/", "/history/"):
        visit(page, path)
        page.screenshot_step(path.strip("/") or "dashboard")
    # htmx swaps the filtered history in place: no eval, no inline style
    page.get_by_text("Filter by kind or date").click()
    page.get_by_label("Kind").select_option(index=1)
    page.wait_for_load_state("networkidle")


def test_the_admin_passes_the_csp(offline, transactional_db):
    page = offline
    get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    member = MemberFactory(email="grace@example.com", first_name="Grace")

    visit(page, "/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()

    for path in ("/admin/", "/admin/members/member/", f"/admin/members/member/{member.pk}/change/"):
        visit(page, path)
        page.screenshot_step(path.strip("/").replace("/", "-"))


def test_the_api_docs_render_swagger_ui_from_our_own_files(offline):
    page = offline

    visit(page, "/api/v1/docs/")

    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.get_by_text("/api/v1/members/", exact=True).first).to_be_visible()
    page.locator(".opblock-summary").first.click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    page.screenshot_step("docs")
