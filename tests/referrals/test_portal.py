"""Referrals in the portal: the Invite friends page, the referral link, sign-up with a code, the device cookie."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Member, MemberStatus
from members.referrals.devices import DEVICE_COOKIE
from members.referrals.models import MemberDevice, Referral, ReferralCode
from members.referrals.services import referral_purchase_record
from members.services import member_email_verify, member_status_change
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
SIGN_UP = {
    "email": "grace@example.com",
    "first_name": "Grace",
    "last_name": "Hopper",
    "password1": "a-long-enough-secret",
    "password2": "a-long-enough-secret",
    "language": "en",
}


@pytest.fixture
def referrer():
    return member_email_verify(member=MemberFactory(email="ada@example.com", first_name="Ada", password=PASSWORD))


@pytest.fixture
def code(referrer):
    return ReferralCode.objects.get(member=referrer).code


def friends_buy(referrer, code, joined: int, bought: int) -> None:
    for number in range(joined):
        friend = MemberFactory(email=f"friend{number}@example.com", referral_code=code)
        if number < bought:
            referral_purchase_record(member=friend, amount=Decimal(30), currency="EUR", purchase_ref=f"P{number}")


def test_the_page_shows_the_link_the_code_and_what_it_brought(client, referrer, code):
    friends_buy(referrer, code, joined=3, bought=2)
    client.force_login(referrer.user)

    response = client.get(reverse("portal:referrals"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'value="http://testserver/join/{code}/"' in page
    assert response.context["summary"] == {"joined": 3, "qualified": 2, "points": 1000}
    assert '<p class="figure" data-testid="referrals-points">1,000</p>' in page
    assert 'data-copy="#referral-link"' in page
    assert 'aria-current="page">Invite friends' in page


@pytest.mark.parametrize(("joined", "bought"), [(0, 0), (6, 4)], ids=["none", "six-friends"])
def test_the_page_runs_a_fixed_number_of_queries(client, referrer, code, joined, bought):
    friends_buy(referrer, code, joined, bought)
    client.force_login(referrer.user)

    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("portal:referrals")).status_code == 200

    # session, user, member with account; the code, the summary (one aggregate), the policy
    assert len(captured) == 6


def test_the_referral_link_leads_to_sign_up_with_the_code_and_a_device_cookie(client, code):
    response = client.get(reverse("portal:join", args=[code]))

    assert response.status_code == 302
    assert response["Location"] == f"/signup/?ref={code}"
    cookie = response.cookies[DEVICE_COOKIE]
    assert (cookie["httponly"], cookie["samesite"], cookie["max-age"]) == (True, "Lax", 5 * 365 * 24 * 3600)
    page = client.get(response["Location"])
    assert page.context["form"]["referral_code"].value() == code
    assert DEVICE_COOKIE not in page.cookies  # kept, not replaced


def test_sign_up_through_the_link_makes_the_referral(client, referrer, code):
    client.get(reverse("portal:join", args=[code]))

    response = client.post(reverse("portal:signup"), {**SIGN_UP, "referral_code": code, "phone": "+44 20 7946 0958"})

    assert response.status_code == 302
    friend = Member.objects.get(user__email="grace@example.com")
    assert friend.phone == "+442079460958"
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referee, referral.status) == (referrer, friend, "joined")
    assert referral.signup_address == "127.0.0.1"
    assert MemberDevice.objects.get(member=friend).device_hash == referral.signup_device


def test_a_sign_up_from_the_referrers_own_browser_is_a_declined_self_referral(client, referrer, code):
    client.post(reverse("portal:login"), {"username": "ada@example.com", "password": PASSWORD})
    assert MemberDevice.objects.filter(member=referrer).count() == 1
    client.post(reverse("portal:logout"))

    client.get(reverse("portal:join", args=[code]))
    client.post(reverse("portal:signup"), {**SIGN_UP, "referral_code": code})

    referral = Referral.objects.get()
    assert (referral.status, referral.decline_reasons) == ("declined", ["same_device"])


def test_a_forged_device_cookie_is_replaced(client, code):
    client.cookies[DEVICE_COOKIE] = "forged"

    response = client.get(reverse("portal:signup"))

    assert response.cookies[DEVICE_COOKIE].value != "forged"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"referral_code": "ZZZZZZZZ"},
            {"referral_code": ["This referral code is not valid: check it with the friend who gave it."]},
        ),
        (
            {"phone": "06 12 34 56 78"},
            {"phone": ["Give the phone number with its country code, e.g. +33 6 12 34 56 78."]},
        ),
    ],
    ids=["unknown-code", "national-phone"],
)
def test_sign_up_with_a_bad_code_or_phone_is_a_form_error(client, referrer, fields, errors):
    response = client.post(reverse("portal:signup"), {**SIGN_UP, **fields})

    assert response.status_code == 200
    assert {name: response.context["form"].errors[name] for name in errors} == errors
    assert Member.objects.count() == 1


def test_a_bad_code_with_a_known_email_is_the_same_form_error(client, referrer):
    response = client.post(reverse("portal:signup"), {**SIGN_UP, "email": "ada@example.com", "referral_code": "ZZ"})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["referral_code"]
    assert mail.outbox == []


def test_inviting_a_friend_from_the_page(client, referrer, code, django_capture_on_commit_callbacks):
    client.force_login(referrer.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:referrals"), {"email": "grace@example.com"}, follow=True)

    assert "Your invitation is on its way" in response.content.decode()
    (message,) = mail.outbox
    assert f"http://testserver/join/{code}/" in message.body
    assert Referral.objects.get().status == "invited"


def test_a_suspended_member_cannot_invite(client, referrer):
    member_status_change(member=referrer, status=MemberStatus.SUSPENDED, reason="Check", actor=None)
    client.force_login(referrer.user)

    response = client.post(reverse("portal:referrals"), {"email": "grace@example.com"})

    assert "Invitations are paused" in response.content.decode()
    assert Referral.objects.count() == 0
    assert mail.outbox == []


def test_a_logged_in_member_following_a_link_goes_to_their_own_page(client, referrer, code):
    client.force_login(referrer.user)

    assert client.get(reverse("portal:join", args=[code]))["Location"] == reverse("portal:referrals")
