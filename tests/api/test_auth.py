from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from loyalty.partners.models import Partner, PartnerAPIKey
from loyalty.partners.services import partner_api_key_revoke
from tests.factories.members import MemberFactory
from tests.factories.partners import partner_key

UNAUTHENTICATED = {
    "error": {"code": "not_authenticated", "message": "Authentication credentials were not provided.", "fields": {}}
}
INVALID_KEY = {"error": {"code": "authentication_failed", "message": "Invalid or revoked API key.", "fields": {}}}


def test_a_request_without_a_key_gets_401(client, db):
    response = client.get("/api/v1/members/1234567897/")

    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer nope.nope", id="unknown-key"),
        pytest.param("Bearer", id="no-key"),
        pytest.param("Bearer a b", id="two-words"),
    ],
)
def test_a_wrong_key_gets_401(client, api_key, header):
    response = client.get("/api/v1/members/1234567897/", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_right_prefix_with_a_wrong_secret_gets_401(client, api_key):
    response = client.get("/api/v1/members/1234567897/", HTTP_AUTHORIZATION=f"Bearer {api_key[0].prefix}.wrong")

    assert response.status_code == 401
    assert response.json() == INVALID_KEY


def test_a_revoked_key_gets_401(api, api_key):
    member = MemberFactory()
    assert api.get(f"/api/v1/members/{member.member_number}/").status_code == 200

    partner_api_key_revoke(api_key=api_key[0])
    response = api.get(f"/api/v1/members/{member.member_number}/")

    assert response.status_code == 401
    assert response.json() == INVALID_KEY


def test_the_key_of_an_inactive_partner_gets_401(api, partner):
    Partner.objects.filter(pk=partner.pk).update(active=False)

    response = api.get("/api/v1/members/1234567897/")

    assert response.status_code == 401
    assert response.json() == INVALID_KEY


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        pytest.param("post", "/api/v1/members/", "members:write", id="enrol"),
        pytest.param("get", "/api/v1/members/{number}/", "members:read", id="read"),
        pytest.param("get", "/api/v1/members/{number}/entries/", "members:read", id="entries"),
        pytest.param("post", "/api/v1/members/{number}/adjustments/", "points:adjust", id="adjust"),
    ],
)
def test_a_key_without_the_scope_gets_403(partner, client_for, method, path, scope):
    member = MemberFactory()
    others = [s for s in ("members:read", "members:write", "points:adjust") if s != scope]
    client = client_for(partner_key(partner, scopes=others)[1])

    response = getattr(client, method)(path.format(number=member.member_number), {}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "permission_denied",
            "message": "This API key does not have the scope this operation needs.",
            "fields": {},
        }
    }
    assert member.account.entries.count() == 0


def test_a_request_records_when_the_key_was_last_used(api, api_key):
    assert api_key[0].last_used_at is None

    api.get("/api/v1/members/1234567897/")

    api_key[0].refresh_from_db()
    assert api_key[0].last_used_at is not None


def test_partner_create_prints_a_working_key_on_its_last_line(db, client_for):
    out = StringIO()

    call_command("partner_create", "--name", "Acme", "--scopes", "members:read", "points:adjust", stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    stored = PartnerAPIKey.objects.get()
    assert stored.partner.name == "Acme"
    assert stored.scopes == ["members:read", "points:adjust"]
    assert key.startswith(stored.prefix + ".")
    assert key not in stored.hashed_key
    member = MemberFactory()
    assert client_for(key).get(f"/api/v1/members/{member.member_number}/").status_code == 200


def test_staff_create_a_key_in_the_admin_and_see_it_once(admin_client, partner):
    response = admin_client.post(
        "/admin/partners/partnerapikey/add/",
        {
            "partner": partner.pk,
            "name": "Till 3",
            "scopes": ["members:read"],  # checkboxes, one per scope
        },
        follow=True,
    )

    stored = PartnerAPIKey.objects.get(name="Till 3")
    messages = [str(message) for message in response.context["messages"]]
    assert len(messages) == 2
    assert messages[0].startswith(f"The new key is {stored.prefix}.")
    assert stored.scopes == ["members:read"]


def test_partner_create_refuses_a_known_name(partner):
    with pytest.raises(CommandError, match="A partner with this name already exists."):
        call_command("partner_create", "--name", "acme", stdout=StringIO())

    assert Partner.objects.count() == 1


# Scopes fail closed


@pytest.mark.parametrize("path", ["/api/v1/members/{number}/", "/api/v1/members/{number}/entries/"])
def test_head_needs_the_read_scope_and_tells_no_number_apart(partner, client_for, path):
    member = MemberFactory(enrolled_by=partner)
    client = client_for(partner_key(partner, scopes=["members:write"])[1])

    known = client.head(path.format(number=member.member_number))
    unknown = client.head(path.format(number="0000000000"))
    mistyped = client.head(path.format(number="1234567890"))

    assert (known.status_code, unknown.status_code, mistyped.status_code) == (403, 403, 403)


@pytest.mark.parametrize("path", ["/api/v1/members/{number}/", "/api/v1/members/{number}/entries/"])
def test_head_with_the_read_scope_answers_like_get_without_a_body(api, partner, path):
    member = MemberFactory(enrolled_by=partner)

    response = api.head(path.format(number=member.member_number))

    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    "path", ["/api/v1/members/", "/api/v1/members/{number}/", "/api/v1/members/{number}/adjustments/"]
)
def test_options_is_mapped_to_no_scope_so_it_is_refused(api, path):
    member = MemberFactory()

    response = api.options(path.format(number=member.member_number))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_view_without_scopes_refuses_every_method(rf, api_key):
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class Unscoped(APIView):
        def get(self, request):
            return Response({"secret": True})

    request = rf.get("/", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")

    assert Unscoped.as_view()(request).status_code == 403
