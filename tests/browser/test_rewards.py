"""Rewards in Chromium: a member browses the catalog, filters it, redeems a reward through its confirmation step
(a double click redeems once), scans the voucher's QR code, cancels it and sees the points back, in English and
in French.

The French run finds the new pages' controls by their links and test ids rather than their words, so it holds
before and after the catalog's French translations land; it checks what French readers must see: the page's
language, the reward's French name and description, French numbers, and the portal's translated words.
"""

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from loyalty.ledger import services as ledger
from members.services import member_email_verify
from members.templatetags.portal import points as shown_points
from rewards.models import Redemption, Voucher, VoucherStatus
from rewards.services import redemption_create
from tests.browser.test_card import decoded, screenshot
from tests.factories.members import MemberFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import TierFactory

PASSWORD = "a-long-enough-secret"


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation")).to_be_visible()


def in_language(language: str, points: int) -> str:
    with translation.override(language):
        return shown_points(points)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_member_browses_redeems_scans_the_voucher_cancels_it_and_gets_the_points_back(page, language):
    member = member_email_verify(
        member=MemberFactory(email="ada@example.com", first_name="Ada", password=PASSWORD, language=language)
    )
    ledger.credit(member.account, 1200)
    coffee = RewardFactory(
        code="coffee",
        name="Free coffee",
        name_fr="Café offert",
        description="Any size, at any partner.",
        description_fr="Toutes tailles, chez tous les partenaires.",
        points_cost=500,
        validity_days=30,
        cancel_window_hours=24,
        stock=10,
    )
    RewardFactory(code="bag", name="Tote bag", name_fr="Sac en toile", points_cost=2000)
    RewardFactory(code="lounge", name="Lounge", name_fr="Salon privé", points_cost=300, tiers=[TierFactory()])
    english = language == "en"
    name = coffee.name if english else coffee.name_fr

    log_in(page, "ada@example.com")
    page.get_by_role("navigation").locator('a[href="/rewards/"]').click()

    # The catalog: the balance, the progress towards what is too dear, the tier-locked reward marked.
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_test_id("balance")).to_have_text(in_language(language, 1200))
    expect(page.get_by_test_id("reward")).to_have_count(3)
    bag = page.get_by_test_id("reward").filter(has_text="Tote bag" if english else "Sac en toile")
    expect(bag.locator("progress")).to_have_attribute("value", "60")
    expect(bag.get_by_test_id("reward-missing")).to_contain_text(in_language(language, 800))
    lounge = page.get_by_test_id("reward").filter(has_text="Lounge" if english else "Salon privé")
    expect(lounge.get_by_test_id("reward-locked")).to_be_visible()
    if english:
        expect(lounge.get_by_test_id("reward-locked")).to_have_text(re.compile(r"^For Tier \d+ members$"))
        expect(bag.get_by_test_id("reward-missing")).to_have_text("800 more points to go")
    page.screenshot_step(f"catalog-{language}")

    # Filtering swaps the results in place (htmx) and keeps the filter in the address.
    page.locator("#id_affordable").check()
    expect(page.get_by_test_id("reward")).to_have_count(1)
    expect(page.get_by_test_id("reward")).to_contain_text(name)
    expect(page).to_have_url(re.compile(r"/rewards/\?affordable=on"))
    page.screenshot_step(f"catalog-affordable-{language}")

    # The reward, then its confirmation step; a double click redeems once.
    page.get_by_test_id("reward").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_test_id("reward-description")).to_have_text(
        coffee.description if english else coffee.description_fr
    )
    page.get_by_test_id("redeem").click()
    expect(page.get_by_test_id("confirm")).to_be_visible()
    page.screenshot_step(f"confirm-{language}")
    page.get_by_test_id("confirm-redeem").dblclick()

    expect(page.get_by_test_id("voucher-page")).to_be_visible()
    voucher = Voucher.objects.get()
    assert (Redemption.objects.count(), voucher.member_id) == (1, member.pk)
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_test_id("voucher-code")).to_have_text(voucher.code)
    assert decoded(screenshot(page.get_by_test_id("voucher-qr"))) == [("QRCode", voucher.code)]
    if english:
        expect(page.get_by_text("You redeemed Free coffee: show this voucher at the till.")).to_be_visible()
        expect(page.get_by_role("img", name=f"QR code of voucher {voucher.code}")).to_be_visible()
        expect(page.get_by_test_id("voucher-status")).to_have_text("Issued")
    page.screenshot_step(f"voucher-{language}")

    # My vouchers lists it; cancelling asks first, then gives the points back.
    page.get_by_role("navigation").locator('a[href="/vouchers/"]').click()
    expect(page.get_by_test_id("voucher")).to_have_count(1)
    expect(page.get_by_test_id("voucher").get_by_test_id("voucher-code")).to_have_text(voucher.code)
    page.get_by_test_id("voucher").get_by_role("link", name=name).click()
    page.get_by_test_id("voucher-cancel").click()
    page.screenshot_step(f"cancel-{language}")
    page.get_by_test_id("cancel-confirm").click()

    expect(page.get_by_test_id("voucher-page")).to_be_visible()
    expect(page.get_by_test_id("voucher-qr")).to_have_count(0)
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.CANCELLED
    if english:
        expect(page.get_by_test_id("voucher-status")).to_have_text("Cancelled")
        expect(
            page.get_by_text("Your voucher for Free coffee is cancelled: 500 points are back in your balance.")
        ).to_be_visible()
    page.screenshot_step(f"cancelled-{language}")

    # The dashboard has the points back; the history shows the redemption and its reversal.
    page.get_by_role("navigation").get_by_role("link", name="My points" if english else "Mes points").click()
    expect(page.get_by_test_id("balance")).to_have_text(in_language(language, 1200))
    page.get_by_role("navigation").get_by_role("link", name="History" if english else "Historique").click()
    rows = page.locator("table.entries tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text(name)  # the redemption's memo names the reward in the reader's language
    expect(rows.nth(1)).to_contain_text("\u2212500")
    expect(rows.nth(0)).to_contain_text("Reversal" if english else "Annulation")
    expect(rows.nth(0)).to_contain_text("+500")
    page.screenshot_step(f"history-{language}")


def test_on_a_phone_the_catalog_and_the_voucher_fit_the_screen_and_the_qr_decodes(page):
    member = member_email_verify(member=MemberFactory(email="ada@example.com", password=PASSWORD))
    ledger.credit(member.account, 1200)
    for number in range(4):
        RewardFactory(name=f"A reward with a rather long name, number {number}", points_cost=400 + 500 * number)
    reward = RewardFactory(code="coffee", name="Free coffee", points_cost=100)
    voucher = redemption_create(member=member, reward=reward, idempotency_key="phone").vouchers[0]
    page.set_viewport_size({"width": 375, "height": 667})
    log_in(page, "ada@example.com")

    for url in ("/rewards/", "/rewards/coffee/?step=confirm", "/vouchers/", f"/vouchers/{voucher.pk}/"):
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, url
    page.screenshot_step("voucher-375px")
    box = page.get_by_test_id("voucher-qr").bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
    assert decoded(screenshot(page.get_by_test_id("voucher-qr"))) == [("QRCode", voucher.code)]
