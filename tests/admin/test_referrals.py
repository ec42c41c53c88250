"""The review queue in the staff admin: reasons in words, Approve and Decline through the services."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.referrals.models import Referral, ReferralCode, ReferralPolicy
from members.referrals.services import referral_purchase_record
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:referrals_referral_changelist")


@pytest.fixture
def flagged(db):
    ReferralPolicy.objects.filter(pk=1).update(signups_per_address_per_day=1)
    referrer = MemberFactory(email="ada@example.com")
    code = ReferralCode.objects.get(member=referrer).code
    MemberFactory(email="f0@example.com", referral_code=code, client_address="198.51.100.1")
    friend = MemberFactory(email="f1@example.com", referral_code=code, client_address="198.51.100.1")
    referral_purchase_record(member=friend, amount=Decimal(25), currency="EUR", purchase_ref="P-1")
    return Referral.objects.get(referee=friend)


def act(client, action, referral, **extra):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [referral.pk], "index": 0, **extra}, follow=True
    )


@pytest.mark.parametrize("group", ["Program manager", "Support agent"])
def test_a_reviewer_sees_why_and_approves(client, staff_in, flagged, group):
    reviewer = staff_in(group)
    client.force_login(reviewer)

    page = client.get(CHANGELIST, {"status__exact": "flagged"}).content.decode()
    assert "Too many sign-ups with a referral code from one address in a day" in page
    assert "Approve the selected flagged referrals" in page

    act(client, "approve", flagged)

    flagged.refresh_from_db()
    assert (flagged.status, flagged.reviewed_by) == ("credited", reviewer)
    flagged.referrer.account.refresh_from_db()
    assert flagged.referrer.account.balance == 500


def test_declining_takes_the_reason_typed_beside_the_action(client, staff_in, flagged):
    client.force_login(staff_in("Support agent"))

    page = act(client, "decline", flagged).content.decode()
    assert "Type the reason for declining beside the action." in page
    assert Referral.objects.get(pk=flagged.pk).status == "flagged"

    act(client, "decline", flagged, reason="A farm of accounts")

    flagged.refresh_from_db()
    assert (flagged.status, flagged.review_note) == ("declined", "A farm of accounts")
    page = client.get(CHANGELIST).content.decode()
    assert "Declined by staff" in page
    assert "Reviewer: A farm of accounts" in page


def test_an_analyst_sees_the_queue_but_cannot_review(client, staff_in, flagged):
    client.force_login(staff_in("Analyst"))

    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "Approve the selected" not in page.content.decode()

    act(client, "approve", flagged)
    assert Referral.objects.get(pk=flagged.pk).status == "flagged"


def test_only_program_managers_edit_the_policy(client, staff_in):
    url = reverse("admin:referrals_referralpolicy_change", args=[1])
    client.force_login(staff_in("Support agent"))
    assert client.get(url).status_code == 403

    client.force_login(staff_in("Program manager"))
    form = {
        "referrer_points": 800,
        "referee_points": 300,
        "min_purchase_amount": "15.00",
        "monthly_cap": 5,
        "signups_per_address_per_day": 3,
        "dormant_referees": 3,
        "dormant_days": 30,
        "invitations_per_day": 10,
    }
    assert client.post(url, form).status_code == 302
    assert ReferralPolicy.objects.get().referrer_points == 800


def test_the_queue_runs_a_fixed_number_of_queries(client, staff_in, flagged):
    client.force_login(staff_in("Support agent"))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST, {"status__exact": "flagged"}).status_code == 200
        return len(captured)

    with_one = queries()
    code = ReferralCode.objects.get(member=flagged.referrer).code
    for number in range(10):
        MemberFactory(email=f"more{number}@example.com", referral_code=code, client_address="198.51.100.1")

    assert Referral.objects.filter(status="flagged").count() == 11
    assert (with_one, queries()) == (with_one, with_one)
    assert with_one == 6  # session, user, the permission checks, the count, the page


def test_a_dormancy_past_ten_years_is_a_form_error(client, staff_in):
    client.force_login(staff_in("Program manager"))
    form = {
        "referrer_points": 500,
        "referee_points": 250,
        "min_purchase_amount": "20.00",
        "monthly_cap": 10,
        "signups_per_address_per_day": 3,
        "dormant_referees": 3,
        "dormant_days": 2_000_000_000,
        "invitations_per_day": 10,
    }

    response = client.post(reverse("admin:referrals_referralpolicy_change", args=[1]), form)

    assert "dormant_days" in response.context["adminform"].form.errors
    assert ReferralPolicy.objects.get().dormant_days == 30
