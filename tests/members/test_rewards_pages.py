"""The portal's rewards: the catalog with its marks and filters, a reward's confirmation step, redeeming once
per form, the member's vouchers and their cancellation, every refusal a form error."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry
from members.models import MemberStatus
from members.services import member_language_set, member_status_change
from members.templatetags.portal import points as shown_points
from rewards.models import Redemption, Reward, RewardKind, Voucher, VoucherCode, VoucherStatus
from rewards.services import redemption_create, voucher_cancel
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import CharityFactory, RewardFactory
from tests.factories.tiers import MemberTierFactory, TierFactory

BALANCE = 1200


@pytest.fixture
def funded(member):
    ledger.credit(member.account, BALANCE)
    return member


def balance_of(member) -> int:
    member.account.refresh_from_db()
    return member.account.balance


def catalog(client, **params):
    response = client.get(reverse("portal:rewards"), params)
    assert response.status_code == 200
    return response


def by_code(response) -> dict:
    return {item.reward.code: item for item in response.context["items"]}


def redeem(client, reward, *, quantity=1, token=None, follow=False):
    token = token or str(uuid.uuid4())
    url = reverse("portal:reward", args=[reward.code])
    return client.post(url, {"quantity": quantity, "token": token}, follow=follow)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("portal:rewards", []),
        ("portal:reward", ["coffee"]),
        ("portal:vouchers", []),
        ("portal:voucher", [1]),
        ("portal:voucher_cancel", [1]),
    ],
)
def test_the_rewards_pages_are_for_members_only(client, django_user_model, name, args):
    url = reverse(name, args=args)

    assert client.get(url)["Location"] == f"{reverse('portal:login')}?next={url}"
    client.force_login(django_user_model.objects.create_user("staff", "staff@example.com", "x"))
    assert client.get(url).status_code == 403  # a login without a member: the page that says so


# --- The catalog ----------------------------------------------------------------------------------------------


def test_the_catalog_shows_the_balance_and_each_rewards_progress_locks_and_stock(member_client, funded):
    gold = TierFactory(name="Gold", name_fr="Or")
    RewardFactory(code="coffee", name="Free coffee", points_cost=500, stock=3)
    RewardFactory(code="bag", name="Tote bag", points_cost=2000)
    RewardFactory(code="lounge", name="Lounge access", points_cost=300, tiers=[gold])
    RewardFactory(code="mug", name="Mug", points_cost=100, stock=0)
    RewardFactory(code="gone", active=False)
    RewardFactory(code="later", available_from=timezone.now() + timedelta(days=1))
    RewardFactory(code="over", available_until=timezone.now() - timedelta(minutes=1))

    response = catalog(member_client)

    items = by_code(response)
    assert list(items) == ["mug", "lounge", "coffee", "bag"]  # cheapest first; inactive and out-of-dates left out
    assert [(i.affordable, i.missing, i.progress, i.locked, i.sold_out, i.units_left) for i in items.values()] == [
        (True, 0, 100, False, True, 0),
        (True, 0, 100, True, False, None),
        (True, 0, 100, False, False, 3),
        (False, 800, 60, False, False, None),
    ]
    assert items["lounge"].refusal.reason == "tier"
    html = response.content.decode()
    assert '<p class="figure" data-testid="balance">1,200</p>' in html
    assert "For Gold members" in html
    assert "Sold out" in html
    assert "3 left" in html
    assert '<progress class="reward-progress" max="100" value="60"' in html
    assert "800 more points to go" in html


def test_a_member_of_the_rewards_tier_sees_it_unlocked(member_client, funded):
    gold = TierFactory(name="Gold")
    MemberTierFactory(member=funded, tier=gold)
    RewardFactory(code="lounge", points_cost=300, tiers=[gold, TierFactory(name="Platinum")])

    assert by_code(catalog(member_client))["lounge"].locked is False


def test_a_gift_card_whose_pool_is_empty_is_sold_out(member_client, funded):
    card = RewardFactory(code="card", kind=RewardKind.GIFT_CARD, points_cost=500)
    VoucherCode.objects.create(reward=card, code="GC-1", imported_at=timezone.now(), taken_at=timezone.now())
    other = RewardFactory(code="card2", kind=RewardKind.GIFT_CARD, points_cost=500)
    VoucherCode.objects.create(reward=other, code="GC-2", imported_at=timezone.now())

    items = by_code(catalog(member_client))

    assert (items["card"].units_left, items["card2"].units_left) == (0, 1)


def test_the_affordable_filter_keeps_what_the_member_can_redeem_now(member_client, funded):
    gold = TierFactory(name="Gold")
    RewardFactory(code="coffee", points_cost=500)
    RewardFactory(code="bag", points_cost=2000)
    RewardFactory(code="lounge", points_cost=300, tiers=[gold])
    RewardFactory(code="mug", points_cost=100, stock=0)

    assert list(by_code(catalog(member_client, affordable="on"))) == ["coffee"]


def test_the_kind_filter_keeps_one_kind(member_client, funded):
    RewardFactory(code="coffee", kind=RewardKind.FREE_PRODUCT, sku="COF-1")
    RewardFactory(code="five-off", kind=RewardKind.FIXED_DISCOUNT)

    response = catalog(member_client, kind=RewardKind.FREE_PRODUCT)

    assert list(by_code(response)) == ["coffee"]
    assert "A free product (COF-1)" in response.content.decode()


def test_an_unknown_kind_shows_the_form_error_and_the_whole_catalog(member_client, funded):
    RewardFactory(code="coffee")

    response = catalog(member_client, kind="nonsense")

    assert list(by_code(response)) == ["coffee"]
    assert response.context["form"].errors["kind"] == [
        "Select a valid choice. nonsense is not one of the available choices."
    ]


def test_htmx_gets_only_the_results(member_client, funded):
    RewardFactory(code="coffee", points_cost=500)
    RewardFactory(code="bag", points_cost=2000)

    response = member_client.get(
        reverse("portal:rewards"), {"affordable": "on"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="reward-results"
    )

    html = response.content.decode()
    assert [t.name for t in response.templates][0] == "portal/_reward_results.html"
    assert "<html" not in html
    assert list(by_code(response)) == ["coffee"]
    assert response["Vary"].startswith("HX-Request, HX-Target")  # a cache never mixes the page and its part


def test_without_rewards_the_catalog_says_so(member_client, funded):
    assert "No reward is offered at the moment." in catalog(member_client).content.decode()
    assert "No reward matches these filters." in catalog(member_client, affordable="on").content.decode()


# --- A reward and its confirmation step --------------------------------------------------------------------


def test_the_reward_page_shows_its_terms_and_a_redeem_step(member_client, funded):
    shop = PartnerFactory(name="Corner Shop")
    reward = RewardFactory(
        code="five-off",
        name="5 euros off",
        description="On any basket.",
        points_cost=500,
        validity_days=30,
        cancel_window_hours=24,
        limit_per_member=2,
        limit_period="month",
        partners=[shop],
    )

    response = member_client.get(reverse("portal:reward", args=[reward.code]))

    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "5 euros off",
        "On any basket.",
        '<dd data-testid="reward-cost">500 points</dd>',
        "5.00\xa0EUR off your purchase",
        "30 days after you redeem it",
        '<dd data-testid="reward-partners">Corner Shop</dd>',
        "2 times a month",
        "You can cancel an unused voucher within 24 hours: its points come back.",
        '<input type="hidden" name="step" value="confirm">',
    ):
        assert text in html, text
    assert response.context["form"] is None
    assert 'name="token"' not in html


def test_a_rewards_image_shows_in_the_catalog_and_on_its_page(member_client, funded, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    png = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(png, format="PNG")
    reward = RewardFactory(code="coffee", image=SimpleUploadedFile("coffee.png", png.getvalue()))

    catalog_html = catalog(member_client).content.decode()
    page_html = member_client.get(reverse("portal:reward", args=[reward.code])).content.decode()

    assert f'<img class="reward-image" src="{reward.image.url}" alt="" loading="lazy">' in catalog_html
    assert f'<img class="reward-photo" src="{reward.image.url}" alt="">' in page_html
    assert reward.image.url == "/media/rewards/coffee.png"


def test_the_confirm_step_carries_a_quantity_and_a_one_time_token(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=500)

    response = member_client.get(reverse("portal:reward", args=[reward.code]), {"step": "confirm"})

    html = response.content.decode()
    assert response.context["form"].fields["quantity"].max_value == 20
    assert 'name="quantity"' in html
    assert 'type="hidden" name="token"' in html
    assert "Your points pay for 2 of this reward." in html
    assert "Confirm and redeem" in html
    assert response["Cache-Control"].startswith("max-age=0")  # a token is never replayed from a cache


def test_an_unknown_or_retired_reward_is_a_404(member_client, funded):
    RewardFactory(code="gone", active=False)

    assert member_client.get(reverse("portal:reward", args=["nothing"])).status_code == 404
    assert member_client.get(reverse("portal:reward", args=["gone"])).status_code == 404


def test_redeeming_debits_once_and_redirects_to_the_voucher(member_client, funded):
    reward = RewardFactory(code="five-off", name="5 euros off", points_cost=500, stock=5)

    response = redeem(member_client, reward)

    voucher = Voucher.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:voucher", args=[voucher.pk])
    assert (balance_of(funded), voucher.member_id, voucher.status) == (700, funded.pk, VoucherStatus.ISSUED)
    page = member_client.get(response["Location"]).content.decode()
    assert "You redeemed 5 euros off: show this voucher at the till." in page
    assert voucher.code in page


def test_a_double_post_with_the_same_token_redeems_once(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=500, stock=5)
    token = str(uuid.uuid4())

    first = redeem(member_client, reward, token=token)
    second = redeem(member_client, reward, token=token)

    reward.refresh_from_db()
    assert first["Location"] == second["Location"]
    assert (Redemption.objects.count(), Voucher.objects.count(), balance_of(funded), reward.stock) == (1, 1, 700, 4)


def test_several_units_go_to_the_vouchers_list(member_client, funded):
    reward = RewardFactory(code="five-off", name="5 euros off", points_cost=500)

    response = redeem(member_client, reward, quantity=2, follow=True)

    assert response.redirect_chain == [(reverse("portal:vouchers"), 302)]
    assert "You redeemed 2 × 5 euros off: your vouchers are below." in response.content.decode()
    assert (Voucher.objects.count(), balance_of(funded)) == (2, 200)


def test_a_donation_thanks_the_member_and_issues_no_voucher(member_client, funded):
    charity = CharityFactory(name="Food Bank", name_fr="Banque alimentaire")
    reward = RewardFactory(code="give", name="Give to the Food Bank", kind=RewardKind.DONATION, charity=charity,
                           points_cost=500, value_amount=None)  # fmt: skip

    response = redeem(member_client, reward, follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [(reverse("portal:vouchers"), 302)]
    assert "Thank you: your gift of 500 points to Food Bank is recorded." in html
    assert "Thank you: you gave 500 points (5.00\xa0EUR) to Food Bank." in html
    assert Voucher.objects.count() == 0


def refused(member_client, member, reward, *, quantity=1, token=None):
    """POST a redemption the service refuses: the page again with the error, and nothing changed."""
    before = (balance_of(member), Entry.objects.count(), Redemption.objects.count(), Voucher.objects.count())
    response = redeem(member_client, reward, quantity=quantity, token=token)
    assert response.status_code == 200
    assert (balance_of(member), Entry.objects.count(), Redemption.objects.count(), Voucher.objects.count()) == before
    return response.context["form"].errors


def test_too_few_points_is_a_form_error(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=500)

    errors = refused(member_client, funded, reward, quantity=3)

    assert errors == {"quantity": ["You have 1,200 points to spend: not enough for this quantity."]}


def test_not_enough_stock_is_a_form_error(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=100, stock=1)

    assert refused(member_client, funded, reward, quantity=2) == {
        "quantity": ["Not enough of this reward is left for this quantity."]
    }
    reward.refresh_from_db()
    assert reward.stock == 1


def test_the_limit_is_a_form_error(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=100, limit_per_member=1, limit_period="week")
    redeem(member_client, reward)

    assert refused(member_client, funded, reward) == {"quantity": ["You can redeem this reward 1 time a week."]}


LIMIT_REACHED = "You have redeemed this reward 1 time a month: the most it allows."


def test_a_reward_whose_limit_the_member_reached_is_marked_and_its_button_disabled(member_client, funded):
    limited = RewardFactory(code="monthly", points_cost=100, limit_per_member=1, limit_period="month")
    twice = RewardFactory(code="twice", points_cost=100, limit_per_member=2, limit_period="month")
    redeemed(funded, limited)
    redeemed(funded, twice)

    items = by_code(catalog(member_client))
    page = member_client.get(reverse("portal:reward", args=["monthly"])).content.decode()

    assert (items["monthly"].refusal.reason, items["monthly"].refusal.message) == ("limit", LIMIT_REACHED)
    assert items["twice"].refusal is None  # one of two used
    assert f'data-testid="redeem-blocked">{LIMIT_REACHED}</p>' in page
    assert "monthly" not in by_code(catalog(member_client, affordable="on"))


def test_a_cancelled_voucher_or_one_of_an_earlier_period_does_not_count_toward_the_limit(member_client, funded):
    monthly = RewardFactory(code="monthly", points_cost=100, limit_per_member=1, limit_period="month", stock=5)
    ever = RewardFactory(code="ever", points_cost=100, limit_per_member=1, limit_period="ever")
    redeemed(funded, monthly, now=timezone.now() - timedelta(days=40))
    redeemed(funded, ever, now=timezone.now() - timedelta(days=400))
    cancelled = RewardFactory(code="cancel", points_cost=100, limit_per_member=1, cancel_window_hours=24)
    voucher_cancel(voucher=redeemed(funded, cancelled)[0])

    items = by_code(catalog(member_client))

    assert items["monthly"].refusal is None
    assert items["ever"].refusal.reason == "limit"  # in all: a redemption long ago counts
    assert items["cancel"].refusal is None


def test_a_reward_of_another_tier_is_a_form_error(member_client, funded):
    reward = RewardFactory(code="lounge", points_cost=100, tiers=[TierFactory(name="Gold")])

    assert refused(member_client, funded, reward) == {"__all__": ["This reward is for members of other tiers."]}


def test_a_quantity_out_of_range_is_a_form_error(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=10)

    assert refused(member_client, funded, reward, quantity=21) == {
        "quantity": ["Ensure this value is less than or equal to 20."]
    }


def test_the_same_token_for_another_quantity_is_a_form_error(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=100)
    token = str(uuid.uuid4())
    redeem(member_client, reward, token=token)

    assert refused(member_client, funded, reward, quantity=2, token=token) == {
        "__all__": ["This form was already sent for another quantity: reload the page."]
    }


def test_a_form_without_its_token_redeems_nothing(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=100)

    response = member_client.post(reverse("portal:reward", args=[reward.code]), {"quantity": 1})

    assert response.status_code == 200
    assert response.context["form"].errors == {"token": ["This field is required."]}
    assert Redemption.objects.count() == 0


def test_a_suspended_member_browses_but_the_redeem_button_is_disabled_and_a_post_is_refused(member_client, funded):
    reward = RewardFactory(code="five-off", points_cost=500)
    member_status_change(member=funded, status=MemberStatus.SUSPENDED, reason="Check", actor=None)

    page = member_client.get(reverse("portal:reward", args=[reward.code]), {"step": "confirm"}).content.decode()

    assert 'disabled aria-describedby="redeem-blocked"' in page
    assert "Your account is not active, so it cannot spend points for now." in page
    assert refused(member_client, funded, reward) == {
        "__all__": ["Your account is not active, so it cannot spend points for now."]
    }


@pytest.mark.parametrize(
    ("values", "why"),
    [
        pytest.param({"points_cost": 2000}, "You need 800 more points.", id="too-dear"),
        pytest.param({"stock": 0}, "This reward is sold out.", id="sold-out"),
    ],
)
def test_the_redeem_button_says_why_it_is_disabled(member_client, funded, values, why):
    reward = RewardFactory(code="thing", **values)

    page = member_client.get(reverse("portal:reward", args=[reward.code])).content.decode()

    assert f'<p id="redeem-blocked" class="reward-blocked" data-testid="redeem-blocked">{why}</p>' in page


# --- Vouchers -------------------------------------------------------------------------------------------------


def redeemed(member, reward, *, quantity=1, now=None):
    return redemption_create(
        member=member, reward=reward, quantity=quantity, idempotency_key=str(uuid.uuid4()), now=now
    ).vouchers


def test_the_vouchers_list_is_newest_first_with_status_and_expiry(member_client, funded):
    old = RewardFactory(code="old", name="Old one", points_cost=100, validity_days=10)
    new = RewardFactory(code="new", name="New one", points_cost=100, cancel_window_hours=2)
    first = redeemed(funded, old, now=timezone.now() - timedelta(days=20))[0]
    second = redeemed(funded, new)[0]

    response = member_client.get(reverse("portal:vouchers"))

    html = response.content.decode()
    assert [voucher.pk for voucher, _ in response.context["rows"]] == [second.pk, first.pk]
    assert [state.status for _, state in response.context["rows"]] == ["issued", "expired"]  # past its expiry
    assert html.index("New one") < html.index("Old one")
    assert second.code in html
    assert first.code in html
    assert reverse("portal:voucher_cancel", args=[second.pk]) in html
    assert reverse("portal:voucher_cancel", args=[first.pk]) not in html
    assert "No expiry date" in html
    assert "Expired on" in html


def test_the_vouchers_list_is_paginated(member_client, funded):
    reward = RewardFactory(code="r", points_cost=10)
    redeemed(funded, reward, quantity=20)
    redeemed(funded, reward, quantity=5)

    first = member_client.get(reverse("portal:vouchers"))
    second = member_client.get(reverse("portal:vouchers"), {"page": 2})

    assert (len(first.context["rows"]), len(second.context["rows"])) == (20, 5)
    assert "Page 1 of 2" in first.content.decode()


def test_a_voucher_page_shows_its_code_qr_status_expiry_and_value(member_client, funded):
    reward = RewardFactory(code="five-off", name="5 euros off", points_cost=500, validity_days=30)
    voucher = redeemed(funded, reward)[0]
    Reward.objects.filter(pk=reward.pk).update(name="Renamed", value_amount="7.00")  # the voucher keeps its terms

    response = member_client.get(reverse("portal:voucher", args=[voucher.pk]))

    html = response.content.decode()
    assert '<h1 id="voucher-title">5 euros off</h1>' in html
    assert "5.00\xa0EUR off your purchase" in html
    assert f'<p class="voucher-code" data-testid="voucher-code">{voucher.code}</p>' in html
    assert 'data-testid="voucher-qr"><svg' in html
    assert "style=" not in html.split('data-testid="voucher-qr"')[1].split("</div>")[0]  # the CSP allows none
    assert '<span class="status status-issued" data-testid="voucher-status">Issued</span>' in html
    assert "Valid until" in html
    assert "Cancel this voucher" not in html  # the reward has no cancel window


def test_a_used_voucher_shows_no_qr_code(member_client, funded):
    voucher = redeemed(funded, RewardFactory(code="r", points_cost=10))[0]
    Voucher.objects.filter(pk=voucher.pk).update(status=VoucherStatus.USED, used_at=timezone.now())

    html = member_client.get(reverse("portal:voucher", args=[voucher.pk])).content.decode()

    assert 'data-testid="voucher-qr"' not in html
    assert "Used on" in html


def test_another_members_voucher_is_a_404_everywhere_and_cannot_be_cancelled(member_client, funded):
    other = MemberFactory()
    ledger.credit(other.account, 500)
    voucher = redeemed(other, RewardFactory(code="r", points_cost=100, cancel_window_hours=24))[0]

    for name in ("portal:voucher", "portal:voucher_cancel"):
        assert member_client.get(reverse(name, args=[voucher.pk])).status_code == 404
    assert member_client.post(reverse("portal:voucher_cancel", args=[voucher.pk])).status_code == 404
    assert member_client.get(reverse("portal:voucher", args=[999_999])).status_code == 404

    voucher.refresh_from_db()
    assert (voucher.status, balance_of(other)) == (VoucherStatus.ISSUED, 400)
    assert voucher.code not in member_client.get(reverse("portal:vouchers")).content.decode()


def test_cancelling_within_the_window_gives_the_points_back(member_client, funded):
    reward = RewardFactory(code="r", name="Coffee", points_cost=500, stock=2, cancel_window_hours=24)
    voucher = redeemed(funded, reward)[0]
    url = reverse("portal:voucher_cancel", args=[voucher.pk])

    confirm = member_client.get(url).content.decode()
    response = member_client.post(url, follow=True)

    voucher.refresh_from_db()
    reward.refresh_from_db()
    assert "Its 500 points come back to your balance" in confirm
    assert "Yes, cancel the voucher" in confirm
    assert response.redirect_chain == [(reverse("portal:voucher", args=[voucher.pk]), 302)]
    assert "Your voucher for Coffee is cancelled: 500 points are back in your balance." in response.content.decode()
    assert (voucher.status, balance_of(funded), reward.stock) == (VoucherStatus.CANCELLED, 1200, 2)
    member_client.post(url)  # a double click cancels once
    assert (balance_of(funded), Entry.objects.filter(kind="reverse").count()) == (1200, 1)


def test_outside_the_window_a_voucher_cannot_be_cancelled(member_client, funded):
    reward = RewardFactory(code="r", points_cost=500, cancel_window_hours=1)
    voucher = redeemed(funded, reward, now=timezone.now() - timedelta(hours=2))[0]
    url = reverse("portal:voucher_cancel", args=[voucher.pk])

    page = member_client.get(url).content.decode()
    response = member_client.post(url)

    voucher.refresh_from_db()
    assert "This voucher can no longer be cancelled." in page
    assert "Yes, cancel the voucher" not in page
    assert response.status_code == 200
    assert response.context["errors"] == ["This voucher can no longer be cancelled."]
    assert (voucher.status, balance_of(funded)) == (VoucherStatus.ISSUED, 700)
    assert (
        reverse("portal:voucher_cancel", args=[voucher.pk])
        not in member_client.get(reverse("portal:voucher", args=[voucher.pk])).content.decode()
    )


def test_the_nav_links_to_rewards_and_vouchers(member_client, funded):
    html = member_client.get(reverse("portal:vouchers")).content.decode()

    assert f'<a href="{reverse("portal:rewards")}">Rewards</a>' in html
    assert f'<a href="{reverse("portal:vouchers")}" aria-current="page">My vouchers</a>' in html
    assert "You have no voucher yet." in html


def test_the_dashboard_counts_the_rewards_the_member_can_redeem_now(member_client, funded):
    RewardFactory(code="a", points_cost=500)
    RewardFactory(code="b", points_cost=1000)
    RewardFactory(code="c", points_cost=5000)
    RewardFactory(code="d", points_cost=100, stock=0)
    RewardFactory(code="e", points_cost=100, tiers=[TierFactory()])

    html = member_client.get(reverse("portal:dashboard")).content.decode()

    assert "2 rewards you can redeem now" in html
    assert len(by_code(catalog(member_client, affordable="on"))) == 2  # the same rule as the catalog's filter


# --- In French ------------------------------------------------------------------------------------------------


def test_a_french_member_reads_the_rewards_names_descriptions_and_numbers_in_french(member_client, funded):
    member_language_set(member=funded, language="fr")
    member_client.cookies["django_language"] = "fr"
    reward = RewardFactory(code="cafe", name="Free coffee", name_fr="Café offert", description="Any size.",
                           description_fr="Toutes tailles.", points_cost=2500)  # fmt: skip
    ledger.credit(funded.account, 300)

    catalog_html = catalog(member_client).content.decode()
    reward_html = member_client.get(reverse("portal:reward", args=[reward.code])).content.decode()
    voucher_reward = RewardFactory(code="five", name="Five off", name_fr="Cinq de moins", points_cost=100)
    voucher = redeemed(funded, voucher_reward)[0]
    voucher_html = member_client.get(reverse("portal:voucher", args=[voucher.pk])).content.decode()

    with translation.override("fr"):
        balance, missing = shown_points(1500), shown_points(1000)
    assert '<html lang="fr">' in catalog_html
    assert "Café offert" in catalog_html
    assert "Free coffee" not in catalog_html
    assert f'data-testid="balance">{balance}</p>' in catalog_html
    assert missing in catalog_html
    assert "Mes points" in catalog_html  # the portal's own words are French
    assert "Café offert" in reward_html
    assert "Toutes tailles." in reward_html
    assert "Any size." not in reward_html
    assert "Cinq de moins" in voucher_html
    assert "5,00\xa0EUR" in voucher_html
