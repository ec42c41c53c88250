"""Hostile input to the partner API gets a clear 4xx, never a 500, and changes nothing."""

import base64
import json

import pytest

from members.models import Member
from tests.factories.members import MemberFactory

ENROL = "/api/v1/members/"


def adjust_url(member) -> str:
    return f"/api/v1/members/{member.member_number}/adjustments/"


def test_a_body_over_djangos_upload_limit_gets_413_not_500(api, db):
    body = b'{"email": "a@example.com", "first_name": "' + b"x" * 2_700_000 + b'"}'

    response = api.post(ENROL, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "The request body is larger than 65536 bytes.", "fields": {}}
    }
    assert Member.objects.count() == 0


@pytest.mark.parametrize("depth", [pytest.param(1000, id="1000-deep"), pytest.param(30_000, id="30000-deep")])
def test_json_nested_deeper_than_python_can_parse_gets_400(api, db, depth):
    body = '{"email": ' + "[" * depth + "]" * depth + "}"

    response = api.post(ENROL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert Member.objects.count() == 0


def test_json_nested_deeper_than_the_limit_gets_400(api, db, settings):
    settings.API_MAX_JSON_DEPTH = 3
    body = json.dumps({"email": "a@example.com", "first_name": [[["x"]]]})

    response = api.post(ENROL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "parse_error",
            "message": "JSON parse error - nested more than 3 levels deep.",
            "fields": {},
        }
    }


def test_json_at_the_depth_limit_is_parsed(api, db, settings):
    settings.API_MAX_JSON_DEPTH = 1
    body = json.dumps({"email": "a@example.com", "first_name": "A", "last_name": "B"})

    response = api.post(ENROL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="depth-1")

    assert response.status_code == 201


def _cursor(querystring: str) -> str:
    return base64.b64encode(querystring.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(_cursor("p=not-a-date"), id="position-not-a-date"),
        pytest.param(_cursor("p=2026-13-45T99:00:00"), id="position-out-of-range"),
        pytest.param(_cursor("o=abc"), id="offset-not-a-number"),
        pytest.param(_cursor("r=x"), id="reverse-not-a-number"),
        pytest.param("%%%not-base64", id="not-base64"),
        pytest.param("w6k=", id="not-ascii"),
    ],
)
def test_a_forged_pagination_cursor_gets_400_invalid_cursor(api, db, cursor):
    member = MemberFactory()
    url = f"/api/v1/members/{member.member_number}/entries/"

    response = api.get(url, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_cursor",
            "message": "This page link is not valid: start again from the first page.",
            "fields": {},
        }
    }


@pytest.mark.parametrize(
    "points",
    [
        pytest.param("1.0", id="decimal-1.0"),
        pytest.param("1e3", id="exponent"),
        pytest.param('"10"', id="string"),
        pytest.param('" 7 "', id="padded-string"),
        pytest.param("true", id="boolean"),
        pytest.param("null", id="null"),
        pytest.param("[5]", id="list"),
    ],
)
def test_points_must_be_a_json_integer(api, db, points):
    member = MemberFactory()
    body = '{"points": ' + points + ', "reason": "gift"}'

    response = api.post(adjust_url(member), body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == ["points"]
    member.account.refresh_from_db()
    assert member.account.balance == 0
    assert member.account.entries.count() == 0


@pytest.mark.parametrize(
    "reason", [pytest.param(12, id="integer"), pytest.param(1.5, id="float"), pytest.param(True, id="boolean")]
)
def test_a_reason_must_be_a_json_string(api, db, reason):
    member = MemberFactory()

    response = api.post(
        adjust_url(member), {"points": 10, "reason": reason}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": ["A JSON string is required."]}
    member.account.refresh_from_db()
    assert member.account.balance == 0


def test_a_json_integer_is_still_accepted(api, db):
    member = MemberFactory()

    response = api.post(adjust_url(member), {"points": 10, "reason": "gift"}, format="json", HTTP_IDEMPOTENCY_KEY="k3")

    assert response.status_code == 201
    member.account.refresh_from_db()
    assert member.account.balance == 10


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("email", 12, id="email-number"),
        pytest.param("first_name", 12, id="first-name-number"),
        pytest.param("last_name", False, id="last-name-boolean"),
        pytest.param("external_id", 42, id="external-id-number"),
    ],
)
def test_enrolment_texts_must_be_json_strings(api, db, field, value):
    body = {"email": "a@example.com", "first_name": "A", "last_name": "B", field: value}

    response = api.post(ENROL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-4")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: ["A JSON string is required."]}
    assert Member.objects.count() == 0


def test_an_invalid_email_string_keeps_its_own_message(api, db):
    body = {"email": "not-an-email", "first_name": "A", "last_name": "B"}

    response = api.post(ENROL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-5")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"email": ["Enter a valid email address."]}
