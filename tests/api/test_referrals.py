"""The partner API's enrolment with a referral code and a phone."""

import pytest

from members.models import Member
from members.referrals.models import Referral, ReferralCode
from tests.factories.members import MemberFactory

from .test_members import ENROL, enrol


@pytest.fixture
def referrer(db):
    return MemberFactory(email="ada@example.com", phone="+33612345678")


def code_of(member) -> str:
    return ReferralCode.objects.get(member=member).code


def test_enrol_with_a_referral_code_links_the_new_member(api, referrer):
    code = code_of(referrer)

    response = enrol(api, {**ENROL, "email": "grace@example.com", "referral_code": f"{code[:4]}-{code[4:].lower()}"})

    assert response.status_code == 201
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referee.member_number, referral.status) == (
        referrer,
        response.json()["member_number"],
        "joined",
    )


def test_enrol_with_the_referrers_phone_is_a_declined_self_referral(api, referrer):
    response = enrol(
        api, {**ENROL, "email": "grace@example.com", "phone": "+33 6 12 34 56 78", "referral_code": code_of(referrer)}
    )

    assert response.status_code == 201
    assert response.json()["phone"] == "+33612345678"
    referral = Referral.objects.get()
    assert (referral.status, referral.decline_reasons) == ("declined", ["same_phone"])


INVALID_CODE = {
    "error": {
        "code": "invalid_referral_code",
        "message": "This referral code is not valid: check it with the member who gave it.",
        "fields": {"referral_code": ["This referral code is not valid: check it with the member who gave it."]},
    }
}


@pytest.mark.parametrize("email", ["grace@example.com", "ada@example.com"], ids=["new-email", "known-email"])
def test_an_unknown_code_answers_400_whether_the_email_is_known_or_not(api, referrer, email):
    response = enrol(api, {**ENROL, "email": email, "referral_code": "ZZZZZZZZ"})

    assert (response.status_code, response.json()) == (400, INVALID_CODE)
    assert Member.objects.count() == 1
    assert Referral.objects.count() == 0


@pytest.mark.parametrize("phone", ["0612345678", "+0612345678", "+33 6 12", "phone", "+" + "1" * 16])
def test_enrol_with_a_phone_that_is_not_international_gets_400(api, phone):
    response = enrol(api, {**ENROL, "phone": phone})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "phone": ["Give the phone number with its country code, e.g. +33 6 12 34 56 78."]
    }
    assert Member.objects.count() == 0


def test_a_blank_phone_and_code_are_no_phone_and_no_referral(api):
    response = enrol(api, {**ENROL, "phone": "", "referral_code": ""})

    assert response.status_code == 201
    assert Member.objects.get().phone == ""
    assert Referral.objects.count() == 0
