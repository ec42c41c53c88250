"""*My card* in Chromium: its QR code and its barcode, as the browser draws them, decode to the member number.

The images are screenshotted as a phone's screen shows them and read by zxing-cpp, a real
decoder: nothing here compares the SVG's markup.
"""

import io
import re

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from members.models import Member, MemberStatus
from members.numbers import member_number_grouped
from members.services import member_email_verify, member_status_change
from tests.factories.members import MemberFactory

PASSWORD = "a-long-enough-secret"


def card_member(email: str = "card@example.com", language: str = "en") -> Member:
    return member_email_verify(
        member=MemberFactory(email=email, first_name="Ada", last_name="Lovelace", password=PASSWORD, language=language)
    )


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation")).to_be_visible()


def screenshot(locator) -> Image.Image:
    return Image.open(io.BytesIO(locator.screenshot()))


def decoded(image: Image.Image) -> list[tuple[str, str]]:
    """What a decoder reads in the image: (format, text) of every code found."""
    return [(result.format.name, result.text) for result in zxingcpp.read_barcodes(image)]


def scratched(image: Image.Image) -> Image.Image:
    """The image with a light scratch across it, 6% of its width thick, as on a worn phone screen.

    Level H reads through it whatever the number (600 random numbers tried); level Q misses about half.
    """
    image = image.convert("L")
    width, height = image.size
    ImageDraw.Draw(image).line(
        [(width * 0.15, height * 0.62), (width * 0.85, height * 0.40)], fill=255, width=round(width * 0.06)
    )
    return image


def assert_both_codes_read(page, number: str) -> None:
    assert decoded(screenshot(page.get_by_test_id("card-qr"))) == [("QRCode", number)]
    assert decoded(screenshot(page.get_by_test_id("card-barcode"))) == [("Code128", number)]


def test_the_cards_qr_code_and_barcode_decode_to_the_member_number(page):
    member = card_member()
    log_in(page, "card@example.com")

    page.get_by_role("navigation").get_by_role("link", name="My card").click()

    card = page.get_by_test_id("member-card")
    expect(card).to_contain_text("Loyalty points")
    expect(card).to_contain_text("Ada Lovelace")
    grouped = member_number_grouped(member.member_number)
    expect(page.get_by_test_id("card-number")).to_have_text(grouped)
    expect(page.get_by_role("img", name=f"QR code of member number {grouped}")).to_be_visible()
    expect(page.get_by_role("img", name=f"Barcode of member number {grouped}")).to_be_visible()
    expect(page.get_by_role("button", name="Print my card")).to_be_visible()
    assert_both_codes_read(page, member.member_number)
    page.screenshot_step("card")


def test_the_qr_code_has_the_highest_error_correction_so_a_scratched_screen_still_reads(page):
    member = card_member()
    log_in(page, "card@example.com")
    page.goto("/card/")

    qr = screenshot(page.get_by_test_id("card-qr").locator("svg"))  # the code and its quiet zone, no padding

    assert [result.ec_level for result in zxingcpp.read_barcodes(qr)] == ["H"]
    assert decoded(scratched(qr)) == [("QRCode", member.member_number)]


def test_the_card_reads_in_french_and_its_codes_still_decode(page):
    member = card_member("carte@example.com", language="fr")
    log_in(page, "carte@example.com")

    page.get_by_role("navigation").get_by_role("link", name="Ma carte").click()

    expect(page.get_by_role("heading", name="Ma carte")).to_be_visible()
    expect(page.get_by_test_id("member-card")).to_contain_text("Numéro de membre")
    grouped = member_number_grouped(member.member_number)
    expect(page.get_by_role("img", name=f"Code QR du numéro de membre {grouped}")).to_be_visible()
    expect(page.get_by_role("img", name=f"Code-barres du numéro de membre {grouped}")).to_be_visible()
    expect(page.get_by_role("button", name="Imprimer ma carte")).to_be_visible()
    assert_both_codes_read(page, member.member_number)
    page.screenshot_step("card-fr")


@pytest.mark.parametrize("width", [375, 320])
def test_on_a_phone_the_card_fits_the_screen_and_its_codes_decode(page, width):
    member = card_member()
    page.set_viewport_size({"width": width, "height": 667})
    log_in(page, "card@example.com")

    page.goto("/card/")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for test_id in ("card-qr", "card-barcode", "card-number"):
        box = page.get_by_test_id(test_id).bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width, (test_id, box)
    assert_both_codes_read(page, member.member_number)
    page.screenshot_step(f"card-{width}px")


def test_a_375_px_phone_shows_the_whole_card_in_its_first_screen(page):
    card_member()
    page.set_viewport_size({"width": 375, "height": 667})
    log_in(page, "card@example.com")

    page.goto("/card/")

    card = page.get_by_test_id("member-card").bounding_box()
    assert card["y"] + card["height"] <= 667, card


def test_printing_gives_the_card_alone_at_bank_card_size_and_it_still_decodes(page):
    member = card_member()
    log_in(page, "card@example.com")
    page.goto("/card/")

    page.emulate_media(media="print")

    card = page.get_by_test_id("member-card")
    expect(card).to_be_visible()
    for hidden in (
        page.get_by_role("navigation"),
        page.locator(".site-header"),
        page.locator(".site-footer"),
        page.get_by_role("heading", name="My card"),
        page.get_by_text("Show this card at the till"),
        page.get_by_role("button", name="Print my card"),
    ):
        expect(hidden).to_be_hidden()
    box = card.bounding_box()
    millimetre = 96 / 25.4  # CSS pixels
    assert (round(box["width"] / millimetre), round(box["height"] / millimetre)) == (86, 54)
    assert_both_codes_read(page, member.member_number)
    page.screenshot_step("card-print")
    assert len(re.findall(rb"/Type\s*/Page\b", page.pdf())) == 1  # printed on one sheet


def test_a_suspended_members_card_says_earning_and_spending_are_paused(page):
    member = card_member()
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Fraud check", actor=None)
    log_in(page, "card@example.com")

    page.goto("/card/")

    expect(page.get_by_test_id("card-suspended")).to_have_text("Earning and spending points are paused.")
    assert_both_codes_read(page, member.member_number)
    page.screenshot_step("card-suspended")

    # Paper outlives the suspension: the printed card leaves the notice off.
    page.emulate_media(media="print")
    expect(page.get_by_test_id("member-card")).to_be_visible()
    expect(page.get_by_test_id("card-suspended")).to_be_hidden()
    expect(page.get_by_test_id("suspended-notice")).to_be_hidden()
