import pytest
from django.test import override_settings

from loyalty.exceptions import InsufficientPoints
from loyalty.partners.rest import exception_handler
from members.models import Member


def test_an_unknown_path_under_api_gets_a_json_404(api):
    response = api.get("/api/v2/nothing")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such endpoint.", "fields": {}}}


def test_an_unknown_member_gets_a_json_404(api):
    response = api.get("/api/v1/members/0000000000/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No member has this number.", "fields": {}}}


def test_a_wrong_method_gets_a_json_405(api):
    response = api.delete("/api/v1/members/")

    assert response.status_code == 405
    assert response.json() == {
        "error": {"code": "method_not_allowed", "message": 'Method "DELETE" not allowed.', "fields": {}}
    }
    assert response.headers["Allow"] == "POST, OPTIONS"


def test_malformed_json_gets_a_json_400(api):
    response = api.post("/api/v1/members/", '{"email": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert Member.objects.count() == 0


def test_a_body_that_is_not_json_gets_a_json_415(api):
    response = api.post("/api/v1/members/", "email=a@example.com", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_body_over_the_limit_gets_a_json_413(api):
    body = '{"email": "a@example.com", "first_name": "' + "x" * 70_000 + '", "last_name": "B"}'

    response = api.post("/api/v1/members/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "The request body is larger than 65536 bytes.", "fields": {}}
    }
    assert Member.objects.count() == 0


@override_settings(API_MAX_BODY_BYTES=10)
def test_the_body_limit_is_a_setting(api):
    request = api.post("/api/v1/members/", '{"email": "a@example.com"}', content_type="application/json")

    assert request.status_code == 413


def test_a_loyalty_error_maps_to_its_status_code_and_details():
    response = exception_handler(InsufficientPoints("Only 5 points.", available=5, requested=9), {})

    assert response.status_code == 409
    assert response.data == {
        "error": {
            "code": "insufficient_points",
            "message": "Only 5 points.",
            "fields": {},
            "details": {"available": 5, "requested": 9},
        }
    }


def test_an_unexpected_error_is_a_json_500_without_details():
    response = exception_handler(RuntimeError("secret internals"), {})

    assert response.status_code == 500
    assert response.data == {
        "error": {"code": "server_error", "message": "An unexpected error occurred.", "fields": {}}
    }


@pytest.mark.parametrize(
    "key",
    [pytest.param("", id="empty"), pytest.param("k" * 201, id="too-long"), pytest.param("a key", id="space")],
)
def test_a_bad_idempotency_key_gets_400(api, key):
    response = api.post(
        "/api/v1/members/",
        {"email": "a@example.com", "first_name": "A", "last_name": "B"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "Idempotency-Key": ["An idempotency key has 1 to 200 printable ASCII characters without spaces."]
    }
    assert Member.objects.count() == 0


def test_a_path_with_a_newline_gets_the_json_404(client):
    response = client.get("/api/v1/no%0Asuch/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
