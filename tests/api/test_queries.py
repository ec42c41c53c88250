"""Each endpoint runs a fixed number of queries, whatever the member's history holds."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Adjustment
from loyalty.partners.models import Partner
from tests.factories.members import MemberFactory

HISTORY = [pytest.param(1, id="1-entry"), pytest.param(50, id="50-entries")]


@pytest.fixture
def member_with(partner):
    # Content types are cached per process: warm the cache so every case counts alike.
    ContentType.objects.get_for_model(Partner)
    ContentType.objects.get_for_model(Adjustment)

    def make(entries: int):
        member = MemberFactory(enrolled_by=partner)
        for _ in range(entries):
            ledger.credit(member.account, 10)
        return member

    return make


# Authentication: the key with its partner, then last_used_at (a fresh key).
AUTH = 2
# A member's tier progress: the policy, the tiers, the member's tier, its qualifying days.
TIER_PROGRESS = 4


@pytest.mark.parametrize("entries", HISTORY)
def test_reading_a_member_runs_a_fixed_number_of_queries(api, member_with, entries, django_assert_num_queries):
    member = member_with(entries)

    # the member joined with user and account; expiring lots; its tier progress
    with django_assert_num_queries(AUTH + 2 + TIER_PROGRESS):
        response = api.get(f"/api/v1/members/{member.member_number}/")

    assert response.status_code == 200


@pytest.mark.parametrize("entries", HISTORY)
def test_listing_entries_runs_a_fixed_number_of_queries(api, member_with, entries, django_assert_num_queries):
    member = member_with(entries)

    with django_assert_num_queries(AUTH + 2):  # the member; one page of entries
        response = api.get(f"/api/v1/members/{member.member_number}/entries/")

    assert len(response.json()["results"]) == entries


@pytest.mark.parametrize("entries", HISTORY)
def test_adjusting_runs_a_fixed_number_of_queries(api, member_with, entries, django_assert_num_queries):
    member = member_with(entries)

    # On PostgreSQL the debit writes its entry, lot, allocation and balances in one statement;
    # its cause, an Adjustment, is one more INSERT.
    with django_assert_num_queries(AUTH + (12 if connection.vendor == "postgresql" else 15)):
        response = api.post(
            f"/api/v1/members/{member.member_number}/adjustments/",
            {"points": -5, "reason": "Correction"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="adj-1",
        )

    assert response.status_code == 201


@pytest.mark.parametrize("entries", HISTORY)
def test_enrolling_runs_a_fixed_number_of_queries(api, member_with, entries, django_assert_num_queries):
    member_with(entries)  # someone else's history must not matter

    # 13, the new member's referral code (is it free, insert it), the sign-up event type (inactive in
    # the suite: tests/conftest.py; tests/api/test_events.py counts an active one), the member.enrolled
    # event, and the tier progress.
    with django_assert_num_queries(AUTH + 17 + TIER_PROGRESS):
        response = api.post(
            "/api/v1/members/",
            {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="enrol-1",
        )

    assert response.status_code == 201


@pytest.mark.parametrize("entries", HISTORY)
def test_reading_one_entry_runs_a_fixed_number_of_queries(api, member_with, entries, django_assert_num_queries):
    member = member_with(entries)
    entry = member.account.entries.first()

    with django_assert_num_queries(AUTH + 2):  # the member; the entry
        response = api.get(f"/api/v1/members/{member.member_number}/entries/{entry.pk}/")

    assert response.status_code == 200


@pytest.mark.parametrize("entries", HISTORY)
def test_a_debit_with_a_presence_code_runs_a_fixed_number_of_queries(
    api, other_partner, entries, django_assert_num_queries
):
    from loyalty.partners.services import presence_code_issue
    from tests.factories.members import MemberFactory

    ContentType.objects.get_for_model(Partner)
    member = MemberFactory(enrolled_by=other_partner)
    for _ in range(entries):
        ledger.credit(member.account, 10)
    _, code = presence_code_issue(member=member)

    # + the check (its own transaction: lock and read the code) and the spend (lock, update) with the debit.
    with django_assert_num_queries(AUTH + (17 if connection.vendor == "postgresql" else 20)):
        response = api.post(
            f"/api/v1/members/{member.member_number}/adjustments/",
            {"points": -5, "reason": "Coffee", "presence_code": code},
            format="json",
            HTTP_IDEMPOTENCY_KEY="adj-1",
        )

    assert response.status_code == 201


@pytest.mark.parametrize("referrals", [0, 5], ids=["first-referee", "sixth-referee"])
def test_enrolling_a_referred_member_runs_a_fixed_number_of_queries(api, referrals, django_assert_num_queries):
    from members.referrals.models import ReferralCode
    from tests.factories.members import MemberFactory

    referrer = MemberFactory(email="referrer@example.com")
    code = ReferralCode.objects.get(member=referrer).code
    for number in range(referrals):
        MemberFactory(email=f"friend{number}@example.com", referral_code=code)

    # 15, the code's member, then the referral: the policy, the referrer's earlier referees (one
    # aggregate), no referral yet, no invitation to this address, the insert, in a savepoint; the
    # sign-up event type; the member.enrolled event.
    with django_assert_num_queries(AUTH + 25 + TIER_PROGRESS):
        response = api.post(
            "/api/v1/members/",
            {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "referral_code": code},
            format="json",
            HTTP_IDEMPOTENCY_KEY="enrol-referred",
        )

    assert response.status_code == 201
