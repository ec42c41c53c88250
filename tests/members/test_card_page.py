"""The portal's *My card* page: the member's own number as text, a QR code and a Code 128 barcode (inline SVG).

That the images decode to the number is proved in Chromium (tests/browser/test_card.py), by a decoder.
"""

import re

import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image, ImageDraw

from loyalty.ledger import services as ledger
from members.card_views import card_barcode_pattern
from members.models import MemberStatus
from members.numbers import member_number_grouped
from members.services import member_status_change
from tests.factories.members import MemberFactory
from tests.factories.tiers import program_tiers

URL = reverse("portal:card")


def card_markup(response) -> str:
    return re.search(r'<article class="member-card".*?</article>', response.content.decode(), re.S).group(0)


@pytest.mark.parametrize(
    ("number", "grouped"), [("1234567890", "123 456 789 0"), ("9000000004", "900 000 000 4")], ids=["digits", "zeros"]
)
def test_a_number_is_grouped_in_threes_then_its_check_digit(number, grouped):
    assert member_number_grouped(number) == grouped


def bars_read(pattern: str) -> list[tuple[str, str]]:
    """The modules drawn 3 px wide with quiet zones, as a scanner sees them, read by zxing-cpp (a real decoder)."""
    image = Image.new("L", (len(pattern) * 3 + 60, 90), 255)
    draw = ImageDraw.Draw(image)
    for x, module in enumerate(pattern):
        if module == "1":
            draw.rectangle([30 + x * 3, 10, 32 + x * 3, 80], fill=0)
    return [(result.format.name, result.text) for result in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize(
    "number",
    ["9978085919", "9900000000", "0099123456", "1234567897", "0000000000", "5050505050"],
    ids=["leading-99", "99-then-zeros", "99-inside", "digits", "zeros", "fifties"],
)
def test_the_barcode_reads_back_as_the_number_a_leading_99_too(number):
    assert bars_read(card_barcode_pattern(number)) == [("Code128", number)]


def test_the_barcode_refuses_what_code_set_c_cannot_encode():
    for number in ("123", "12a4"):
        with pytest.raises(ValueError, match="even number of digits"):
            card_barcode_pattern(number)


def test_the_card_shows_the_members_own_name_and_grouped_number_with_both_codes_inline(member_client, member):
    other = MemberFactory(first_name="Eve", last_name="Other")

    response = member_client.get(URL)

    assert response.status_code == 200
    card = card_markup(response)
    assert f'data-testid="card-number">{member_number_grouped(member.member_number)}<' in card
    assert "Ada Lovelace" in card
    assert card.count("<svg") == 2
    assert 'role="img" aria-label="QR code of member number' in card
    assert 'role="img" aria-label="Barcode of member number' in card
    assert other.member_number not in response.content.decode()
    assert member_number_grouped(other.member_number) not in response.content.decode()
    assert "Eve" not in response.content.decode()


def test_the_images_carry_no_inline_style_or_script_for_the_csp_to_block(member_client):
    card = card_markup(member_client.get(URL))

    assert "style=" not in card
    assert "<style" not in card
    assert "<script" not in card


def test_the_url_takes_no_member_so_another_members_number_changes_nothing(member_client, member):
    other = MemberFactory()

    response = member_client.get(URL, {"member": other.member_number, "id": other.pk})

    card = card_markup(response)
    assert member_number_grouped(member.member_number) in card
    assert member_number_grouped(other.member_number) not in card


def test_a_member_without_a_name_sees_the_email_on_the_card(client, db):
    member = MemberFactory(email="noname@example.com", first_name="", last_name="")
    client.force_login(member.user)

    assert '<p class="member-card-name">noname@example.com</p>' in card_markup(client.get(URL))


def test_a_suspended_members_card_says_earning_and_spending_are_paused(member_client, member):
    assert "card-suspended" not in member_client.get(URL).content.decode()
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Check", actor=None)

    card = card_markup(member_client.get(URL))

    assert "Earning and spending points are paused." in card
    assert card.count("<svg") == 2


def test_the_page_is_read_only(member_client):
    assert member_client.post(URL).status_code == 405


def test_the_card_is_linked_from_the_nav_and_the_dashboard(member_client):
    content = member_client.get(reverse("portal:dashboard")).content.decode()

    assert content.count(f'href="{URL}"') == 2


def test_the_card_reads_in_french(member_client, member):
    member_client.cookies["django_language"] = "fr"

    response = member_client.get(URL)

    card = card_markup(response)
    assert "<h1>Ma carte</h1>" in response.content.decode()
    assert "Numéro de membre" in card
    assert 'aria-label="Code QR du numéro de membre' in card


def test_the_card_shows_the_tier_the_member_earned_in_the_readers_language(member_client, member):
    program_tiers()
    ledger.credit(member.account, 600, memo="earned")  # past Silver's 500: the upgrade is at once

    english = card_markup(member_client.get(URL))
    french = card_markup(member_client.get(URL, HTTP_ACCEPT_LANGUAGE="fr"))

    assert 'data-testid="card-tier">' in english
    assert "Silver</p>" in english
    assert "Argent</p>" in french
    assert 'fill="#9ca3af"' in english


def test_a_member_without_a_tier_has_no_tier_on_the_card(member_client):
    program_tiers()

    assert "card-tier" not in card_markup(member_client.get(URL))
