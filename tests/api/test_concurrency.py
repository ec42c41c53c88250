"""Racing idempotent repeats on PostgreSQL, each request on its own thread and connection."""

import pytest

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry
from loyalty.partners.models import IdempotentResponse
from loyalty.partners.services import presence_code_issue
from members.models import Member
from tests.factories.members import MemberFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_five_racing_repeats_of_an_adjustment_have_one_effect_and_one_response(api_key, client_for):
    member = MemberFactory()

    def post():
        response = client_for(api_key[1]).post(
            f"/api/v1/members/{member.member_number}/adjustments/",
            {"points": 30, "reason": "Goodwill"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="race-1",
        )
        return response.status_code, response.json()

    outcomes = run_together(*[post] * 5)

    assert {status for status, _ in outcomes} == {201}
    assert all(body == outcomes[0][1] for _, body in outcomes)
    assert Entry.objects.filter(account=member.account).count() == 1
    assert IdempotentResponse.objects.count() == 1
    member.account.refresh_from_db()
    assert member.account.balance == 30


def test_five_racing_repeats_of_an_enrolment_enrol_once(api_key, client_for):
    def post():
        response = client_for(api_key[1]).post(
            "/api/v1/members/",
            {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="race-enrol",
        )
        return response.status_code, response.json()

    outcomes = run_together(*[post] * 5)

    assert Member.objects.count() == 1
    assert {status for status, _ in outcomes} == {201}
    assert all(body == outcomes[0][1] for _, body in outcomes)


def test_a_retry_racing_the_first_debit_with_a_presence_code_gets_its_answer_not_code_used(
    api_key, client_for, other_partner
):
    # given a member another partner enrolled, and the code the member showed at the till
    member = MemberFactory(enrolled_by=other_partner)
    ledger.credit(member.account, 100)
    _, code = presence_code_issue(member=member)

    def post():
        response = client_for(api_key[1]).post(
            f"/api/v1/members/{member.member_number}/adjustments/",
            {"points": -30, "reason": "Coffee", "presence_code": code},
            format="json",
            HTTP_IDEMPOTENCY_KEY="till-retry",
        )
        return response.status_code, response.json()

    # when the till retries while its first request is still running
    outcomes = run_together(*[post] * 4)

    # then every answer is the first debit's, and the points moved once
    assert {status for status, _ in outcomes} == {201}
    assert all(body == outcomes[0][1] for _, body in outcomes)
    member.account.refresh_from_db()
    assert member.account.balance == 70
