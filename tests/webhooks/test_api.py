"""``/api/v1/webhooks/``: a partner registers, lists, reads and deletes its own endpoints."""

import pytest
from rest_framework.test import APIClient

from loyalty.webhooks.models import WebhookEndpoint
from tests.factories.partners import PartnerFactory, partner_key

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/"


def client(partner, scopes=("webhooks:manage",)) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {partner_key(partner, scopes=scopes)[1]}")
    return api


@pytest.fixture
def partner():
    return PartnerFactory(name="Acme")


def register(api, url="http://127.0.0.1:9/in", key="k-1", types=("points.earned", "voucher.used")):
    return api.post(URL, {"url": url, "event_types": list(types)}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_partner_registers_an_endpoint_and_gets_its_secret_once(partner, allow_private):
    api = client(partner)

    response = register(api)

    assert response.status_code == 201
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body == {
        "id": endpoint.pk,
        "url": "http://127.0.0.1:9/in",
        "event_types": ["points.earned", "voucher.used"],
        "active": True,
        "created_at": endpoint.created_at.isoformat().replace("+00:00", "Z"),
        "secret": endpoint.secret,
    }
    assert endpoint.secret.startswith("whsec_")
    assert len(endpoint.secret) > 40
    assert [(row.history_type, row.history_user) for row in endpoint.history.all()] == [("+", None)]  # no staff
    assert response["Location"] == f"http://testserver/api/v1/webhooks/{endpoint.pk}/"
    assert "secret" not in api.get(f"{URL}{endpoint.pk}/").json()
    assert "secret" not in api.get(URL).json()["results"][0]
    # a repeat of the key answers the first response and registers nothing more
    assert register(api).json() == body
    assert WebhookEndpoint.objects.count() == 1


def test_a_blocked_url_answers_400_on_url(partner):
    response = register(client(partner))

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "This URL does not lead to a public address.",
        "fields": {"url": ["This URL does not lead to a public address."]},
    }
    assert WebhookEndpoint.objects.count() == 0


def test_an_unknown_event_type_answers_400(partner, allow_private):
    response = register(client(partner), types=["points.stolen"])

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"event_types"}
    assert WebhookEndpoint.objects.count() == 0


def test_a_partner_sees_and_deletes_only_its_own_endpoints(partner, allow_private):
    mine = register(client(partner)).json()["id"]
    other = client(PartnerFactory(name="Globex"))

    assert other.get(URL).json()["results"] == []
    assert other.get(f"{URL}{mine}/").status_code == 404
    assert other.delete(f"{URL}{mine}/").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=mine).exists()

    api = client(partner)
    assert [row["id"] for row in api.get(URL).json()["results"]] == [mine]
    assert api.delete(f"{URL}{mine}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=mine).exists()
    assert api.get(f"{URL}{mine}/").status_code == 404


@pytest.mark.parametrize("method", ["get", "post", "delete", "head"])
def test_a_key_without_the_scope_is_refused(partner, method, allow_private):
    api = client(partner, scopes=["members:read", "members:write"])
    path = URL if method in ("get", "post", "head") else f"{URL}1/"

    response = getattr(api, method)(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 403
    assert WebhookEndpoint.objects.count() == 0
