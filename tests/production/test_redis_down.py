"""A Redis that does not answer (restarting): 503 with Retry-After and nothing written, never a 500.

The cache counts rate limits before any service runs, so a request it cannot count is refused;
a broker that is down after a commit is logged, and the sweeper sends what it could not.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns.models import Purchase
from loyalty import unavailable
from loyalty.celery import app
from loyalty.outbox.models import OutboxEvent
from loyalty.outbox.services import events_dispatch_pending
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory, partner_key
from tests.helpers import ledger_state
from tests.production.conftest import CLOSED_PORT_URL

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
PURCHASE = {
    "external_id": "T-1",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount": "20.00",
    "currency": "EUR",
    "items": [{"sku": "A", "quantity": "1", "unit_price": "20.00"}],
}


@pytest.fixture
def cache_down(settings):
    def down():
        settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": CLOSED_PORT_URL}}

    return down


@pytest.fixture
def api(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {partner_key(PartnerFactory(), scopes=('transactions:write',))[1]}")
    return client


def post_purchase(api, member):
    body = {**PURCHASE, "member": member.member_number}
    return api.post("/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY="chaos-1")


def test_the_api_answers_503_with_retry_after_and_writes_nothing_while_the_cache_is_down(api, settings, cache_down):
    member = MemberFactory()
    before = ledger_state(member.account)
    cache_down()

    response = post_purchase(api, member)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert (ledger_state(member.account), Purchase.objects.count()) == (before, 0)


def test_the_same_request_succeeds_once_when_the_cache_is_back(api, settings, cache_down):
    member = MemberFactory()
    cache_down()
    assert post_purchase(api, member).status_code == 503
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    first, replay = post_purchase(api, member), post_purchase(api, member)

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert Purchase.objects.count() == 1


def test_sign_up_answers_503_with_retry_after_and_creates_nobody_while_the_cache_is_down(db, cache_down):
    cache_down()
    client = Client(raise_request_exception=False)
    form = {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper", "language": "en"}
    form |= {"password1": "a-long-enough-secret", "password2": "a-long-enough-secret"}

    response = client.post(reverse("portal:signup"), form)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"<h1>Back in a moment</h1>" in response.content
    assert b"try again in a few seconds" in response.content
    assert not get_user_model().objects.filter(email="grace@example.com").exists()


def test_any_other_error_is_still_a_500(rf):
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = unavailable.server_error(rf.get("/"))

    assert response.status_code == 500
    assert b"<h1>Something went wrong</h1>" in response.content
    assert not response.has_header("Retry-After")


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_after_the_commit_is_not_the_clients_failure_and_the_sweeper_sends_later(
    api, monkeypatch, caplog
):
    member = MemberFactory()
    monkeypatch.setattr(app.conf, "broker_url", CLOSED_PORT_URL)
    monkeypatch.setattr(app.conf, "broker_write_url", CLOSED_PORT_URL)
    monkeypatch.setattr(app, "_pool", None)  # new connection and producer pools: the closed port's
    monkeypatch.setattr(app.amqp, "_producer_pool", None)

    response = post_purchase(api, member)

    assert response.status_code == 201
    assert Purchase.objects.count() == 1
    undispatched = OutboxEvent.objects.filter(dispatched_at__isnull=True)
    assert undispatched.filter(type="points.earned").count() == 1
    assert any("on_commit" in record.getMessage() for record in caplog.records if record.levelname == "ERROR")
    monkeypatch.undo()  # the broker is back

    assert events_dispatch_pending(older_than=timedelta(0)) >= 1
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
