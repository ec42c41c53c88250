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
