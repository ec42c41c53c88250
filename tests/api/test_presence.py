"""Who may take points: the enrolling partner, or any partner with the member's presence code."""

import itertools

import pytest

from loyalty.ledger import services as ledger
from loyalty.partners.models import PresenceCode
from loyalty.partners.services import presence_code_issue
from tests.factories.members import MemberFactory

KEYS = itertools.count(1)


def adjust(api, member, points, code=None, key=None):
    body = {"points": points, "reason": "Coffee"}
    if code is not None:
        body["presence_code"] = code
    return api.post(
        f"/api/v1/members/{member.member_number}/adjustments/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or f"p-{next(KEYS)}",
    )


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def member(other_partner):
    """A member another partner (Globex) enrolled, holding 100 points."""
    member = MemberFactory(enrolled_by=other_partner)
    ledger.credit(member.account, 100, expires_on=None)
    return member


def assert_unchanged(member, balance=100, entries=1):
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.entries.count()) == (balance, entries)


def test_a_partner_debits_a_member_it_did_not_enrol_only_with_a_presence_code(api, member):
    response = adjust(api, member, -30)

    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "presence_code_required",
            "message": "Taking points from a member another partner enrolled needs the member's presence code.",
            "fields": {},
        }
    }
    assert_unchanged(member)


def test_the_members_code_lets_another_partner_debit_once(api, member, partner):
    _, code = presence_code_issue(member=member)

    response = adjust(api, member, -30, code)
    again = adjust(api, member, -30, code)

    assert response.status_code == 201
    assert response.json()["balance"] == 70
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "presence_code_used"
    assert_unchanged(member, balance=70, entries=2)
    assert PresenceCode.objects.get().used_by == partner


def test_a_repeat_of_a_debit_with_its_idempotency_key_gets_the_first_answer_not_a_used_code(api, member):
    _, code = presence_code_issue(member=member)
    first = adjust(api, member, -30, code, key="till-7")

    repeat = adjust(api, member, -30, code, key="till-7")

    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.json() == first.json()
    assert repeat["Location"] == first["Location"]
    assert_unchanged(member, balance=70, entries=2)


def test_a_wrong_code_is_refused_and_counted(api, member):
    row, code = presence_code_issue(member=member)

    response = adjust(api, member, -30, wrong(code))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "presence_code_invalid"
    row.refresh_from_db()
    assert row.failed_attempts == 1
    assert_unchanged(member)


def test_guessing_locks_the_code_after_the_allowed_attempts(api, member, settings):
    settings.PRESENCE_CODE_MAX_ATTEMPTS = 5
    _, code = presence_code_issue(member=member)
    codes = [adjust(api, member, -30, wrong(code)).json()["error"]["code"] for _ in range(5)]

    response = adjust(api, member, -30, code)

    assert codes == ["presence_code_invalid"] * 5
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "presence_code_locked"
    assert_unchanged(member)


def test_a_code_of_another_member_is_refused(api, member):
    _, code = presence_code_issue(member=MemberFactory())

    response = adjust(api, member, -30, code)

    assert response.json()["error"]["code"] == "presence_code_invalid"
    assert_unchanged(member)


def test_an_expired_code_is_refused(api, member, settings):
    _, code = presence_code_issue(member=member)
    settings.PRESENCE_CODE_TTL_MINUTES = 0
    PresenceCode.objects.update(expires_at=PresenceCode.objects.get().created_at)

    response = adjust(api, member, -30, code)

    assert response.json()["error"]["code"] == "presence_code_expired"
    assert_unchanged(member)


def test_a_failed_debit_leaves_the_code_usable(api, member):
    _, code = presence_code_issue(member=member)

    short = adjust(api, member, -101, code)
    response = adjust(api, member, -100, code)

    assert short.status_code == 409
    assert short.json()["error"]["code"] == "insufficient_points"
    assert response.status_code == 201
    assert_unchanged(member, balance=0, entries=2)


def test_the_enrolling_partner_debits_without_a_code(other_api, member):
    response = adjust(other_api, member, -30)

    assert response.status_code == 201
    assert_unchanged(member, balance=70, entries=2)


def test_any_partner_credits_without_a_code(api, member):
    response = adjust(api, member, 30)

    assert response.status_code == 201
    assert_unchanged(member, balance=130, entries=2)


def test_a_code_sent_with_a_credit_is_ignored_and_stays_usable(api, member):
    row, code = presence_code_issue(member=member)

    credited = adjust(api, member, 30, code)
    debited = adjust(api, member, -20, code)

    assert (credited.status_code, debited.status_code) == (201, 201)
    assert_unchanged(member, balance=110, entries=3)
    row.refresh_from_db()
    assert row.used_at is not None


def test_wrong_guesses_against_a_spent_code_are_counted_too(api, member):
    row, code = presence_code_issue(member=member)
    assert adjust(api, member, -10, code).status_code == 201

    guesses = [adjust(api, member, -10, wrong(code)) for _ in range(2)]

    assert [g.json()["error"]["code"] for g in guesses] == ["presence_code_invalid"] * 2
    row.refresh_from_db()
    assert row.failed_attempts == 2
    assert_unchanged(member, balance=90, entries=2)


def test_a_code_sent_with_a_debit_is_always_checked(other_api, member):
    _, code = presence_code_issue(member=member)

    response = adjust(other_api, member, -30, wrong(code))

    assert response.json()["error"]["code"] == "presence_code_invalid"
    assert_unchanged(member)


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", ""])
def test_a_malformed_code_gets_400(api, member, code):
    response = adjust(api, member, -30, code)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["presence_code"]
    assert_unchanged(member)
