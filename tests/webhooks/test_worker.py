"""End to end: a partner posts a purchase; a real Celery worker on Redis delivers the signed webhook to a receiver
on 127.0.0.1 started by the test, which verifies the signature. Without Redis it is skipped, unless REQUIRE_REDIS
(CI) makes that a failure."""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from celery import Celery
from django.conf import settings
from rest_framework.test import APIClient

from loyalty.outbox import services as outbox
from loyalty.webhooks import services
from loyalty.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory, partner_key
from tests.ledger.test_tasks import _database_url, redis_broker, worker_ready  # noqa: F401 (a fixture)


@pytest.fixture
def webhook_worker(redis_broker, tmp_path):  # noqa: F811
    """A `celery worker` on its own queue, which it also sends its own tasks to, allowed to post to 127.0.0.1."""
    queue = f"test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LOYALTY_WEBHOOK_ALLOW_PRIVATE": "True",
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "--app", "loyalty", "worker", "--pool", "solo", "--queues", queue],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker_ready(redis_broker, queue, process)
    yield queue
    process.terminate()
    process.wait(timeout=20)
    print(log.read_text())  # noqa: T201  (shown by pytest only when the test fails)


@pytest.mark.django_db(transaction=True)
def test_a_purchase_reaches_the_partner_as_a_signed_webhook_through_a_real_worker(
    webhook_worker,
    redis_broker,  # noqa: F811 (the fixture imported above)
    receiver,
    allow_private,
    monkeypatch,
):
    # given a partner with an endpoint at the receiver, and a member it enrolled
    partner = PartnerFactory(name="Acme")
    endpoint = services.endpoint_create(partner=partner, url=receiver.url, event_types=["points.earned"])
    receiver.secret = endpoint.secret
    member = MemberFactory(enrolled_by=partner)
    # the commit hook sends the dispatch through Redis to the worker's queue (the worker's own tasks follow it)
    broker = Celery(broker=redis_broker, set_as_current=False)
    monkeypatch.setattr(
        outbox,
        "_dispatch_later",
        lambda ids: broker.send_task("outbox.dispatch_events", args=[[str(pk) for pk in ids]], queue=webhook_worker),
    )

    # when the partner posts a purchase through the API
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {partner_key(partner, scopes=['transactions:write'])[1]}")
    response = api.post(
        "/api/v1/transactions/",
        {
            "member": member.member_number,
            "external_id": "TILL-1",
            "occurred_at": "2026-11-20T10:00:00Z",
            "amount": "50.00",
            "currency": "EUR",
            "items": [{"sku": "A", "quantity": "1", "unit_price": "50.00"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="e2e-1",
    )
    assert response.status_code == 201

    # then the worker delivers the event to the receiver, which verifies its signature
    deadline = time.monotonic() + 60
    while not receiver.received:
        assert time.monotonic() < deadline, "the worker did not deliver the webhook within 60 s"
        time.sleep(0.2)
    [(headers, body)] = receiver.received
    assert receiver.verified == [True]
    sent = json.loads(body)
    assert (sent["type"], headers["Loyalty-Event-Id"]) == ("points.earned", sent["id"])
    assert sent["data"] == {
        "member": member.member_number,
        "points": response.json()["points"],
        "balance": response.json()["balance"],
        "available_at": None,
        "transaction": response.json()["id"],
    }
    while WebhookDelivery.objects.get(endpoint=endpoint).status != DeliveryStatus.DELIVERED:
        assert time.monotonic() < deadline, "the worker did not record the delivery within 60 s"
        time.sleep(0.2)
