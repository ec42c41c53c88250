"""Each API key has its own request budget; over it, 429 ``throttled`` with ``Retry-After``."""

import pytest

from tests.factories.members import MemberFactory


@pytest.fixture
def tight_limit(settings):
    settings.API_RATE_LIMIT = "3/minute"


def test_a_key_over_its_limit_gets_429_with_retry_after(api, tight_limit, db):
    member = MemberFactory()
    url = f"/api/v1/members/{member.member_number}/"

    statuses = [api.get(url).status_code for _ in range(3)]
    refused = api.get(url)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60


def test_one_keys_limit_does_not_spend_another_keys(api, other_api, tight_limit, db):
    member = MemberFactory()
    url = f"/api/v1/members/{member.member_number}/"
    for _ in range(4):
        api.get(url)

    assert other_api.get(url).status_code == 200


def test_a_refused_post_has_no_effect(api, tight_limit, db):
    member = MemberFactory()
    url = f"/api/v1/members/{member.member_number}/adjustments/"
    for _ in range(3):
        api.get(f"/api/v1/members/{member.member_number}/")

    refused = api.post(url, {"points": 100, "reason": "gift"}, format="json")

    assert refused.status_code == 429
    member.account.refresh_from_db()
    assert member.account.balance == 0
    assert member.account.entries.count() == 0


def test_an_empty_limit_turns_rate_limiting_off(api, settings, db):
    settings.API_RATE_LIMIT = ""
    member = MemberFactory()

    statuses = {api.get(f"/api/v1/members/{member.member_number}/").status_code for _ in range(5)}

    assert statuses == {200}


def test_answers_carry_the_ratelimit_headers(api, tight_limit, db):
    member = MemberFactory()
    url = f"/api/v1/members/{member.member_number}/"

    first = api.get(url)
    second = api.get(url)
    refused = [api.get(url) for _ in range(2)][-1]

    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("3", "2")
    assert 59 <= int(first["RateLimit-Reset"]) <= 60
    assert (second["RateLimit-Limit"], second["RateLimit-Remaining"]) == ("3", "1")
    assert (refused.status_code, refused["RateLimit-Remaining"]) == (429, "0")


def test_a_created_answer_carries_them_too(api, tight_limit, db):
    response = api.post(
        "/api/v1/members/",
        {"email": "ada@example.com", "first_name": "Ada", "last_name": "L"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert response.status_code == 201
    assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("3", "2")
