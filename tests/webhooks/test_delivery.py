"""Deliveries: signed, retried with backoff, logged, resent, sent once, and never for a rolled-back change."""

import json
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from loyalty.exceptions import IdempotencyConflict
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType, OutboxEvent
from loyalty.webhooks import services
from loyalty.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import run_together

from .conftest import verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(receiver, allow_private):
    return services.endpoint_create(
        partner=PartnerFactory(), url=receiver.url, event_types=[EventType.POINTS_EARNED, EventType.TIER_CHANGED]
    )


def event_dispatched(member, *, type=EventType.POINTS_EARNED, partner=None, data=None) -> OutboxEvent:
    """An event committed with its change and handed to the consumers (what the commit hook's task does)."""
    with transaction.atomic():
        event = outbox.event_record(type=type, member=member, partner=partner, data=data or {"points": 12})
    outbox.events_dispatch(event_ids=[event.pk])
    return event


def test_a_delivery_is_posted_signed_and_the_signature_verifies_independently(endpoint, receiver):
    # given an event about a member the endpoint's partner enrolled
    member = MemberFactory(enrolled_by=endpoint.partner)
    event = event_dispatched(member, data={"member": member.member_number, "points": 12})
    delivery = WebhookDelivery.objects.get(event=event)

    # when the delivery is tried
    attempt = services.delivery_attempt(delivery_id=delivery.pk)

    # then the receiver got the event, signed with the endpoint's secret
    [(headers, body)] = receiver.received
    assert verify(endpoint.secret, headers["Loyalty-Signature"], body, now=time.time())
    assert not verify("whsec_another", headers["Loyalty-Signature"], body, now=time.time())
    assert not verify(endpoint.secret, headers["Loyalty-Signature"], body + b" ", now=time.time())
    assert headers["Loyalty-Event-Id"] == str(event.pk)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "id": str(event.pk),
        "type": "points.earned",
        "created_at": event.occurred_at.isoformat(),
        "data": {"member": member.member_number, "points": 12},
    }
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.DELIVERED, 1, None)
    assert (attempt.status_code, attempt.error, len(attempt.response_excerpt)) == (200, "", 500)


def test_a_500_is_retried_with_exponential_backoff_then_delivered(endpoint, receiver):
    member = MemberFactory(enrolled_by=endpoint.partner)
    delivery = WebhookDelivery.objects.get(event=event_dispatched(member))
    receiver.answer(500)
    receiver.answer(503)
    start = delivery.created_at

    first = services.delivery_attempt(delivery_id=delivery.pk, now=start)
    delivery.refresh_from_db()
    first_delay = delivery.next_attempt_at - start
    assert services.delivery_attempt(delivery_id=delivery.pk, now=start + timedelta(seconds=10)) is None  # not due
    second = services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    second_delay = delivery.next_attempt_at - second.at
    third = services.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    assert timedelta(seconds=24) <= first_delay <= timedelta(seconds=36)  # 30 s with ±20 % jitter
    assert timedelta(seconds=48) <= second_delay <= timedelta(seconds=72)  # doubled
    assert [(a.status_code, a.error) for a in (first, second, third)] == [(500, ""), (503, ""), (200, "")]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert len(receiver.received) == 3


def test_a_receiver_slower_than_the_timeout_is_retried(endpoint, receiver, settings):
    settings.LOYALTY_WEBHOOK_TIMEOUT = 0.3
    member = MemberFactory(enrolled_by=endpoint.partner)
    delivery = WebhookDelivery.objects.get(event=event_dispatched(member))
    receiver.answer(200, wait=1.0)

    attempt = services.delivery_attempt(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (attempt.status_code, attempt.error) == (None, "No answer within 0.3 s.")
    assert 250 <= attempt.latency_ms < 1000
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.next_attempt_at > attempt.at


def test_a_delivery_failing_for_a_day_is_marked_failed(endpoint, receiver):
    member = MemberFactory(enrolled_by=endpoint.partner)
    delivery = WebhookDelivery.objects.get(event=event_dispatched(member))
    now = delivery.created_at
    while True:
        receiver.answer(500)
        assert services.delivery_attempt(delivery_id=delivery.pk, now=now) is not None
        delivery.refresh_from_db()
        if delivery.status != DeliveryStatus.PENDING:
            break
        now = delivery.next_attempt_at

    assert delivery.status == DeliveryStatus.FAILED
    assert now <= delivery.created_at + timedelta(hours=24)
    # 30 s doubling up to 4 h, each wait ×0.8 to ×1.2 at random: 13 (all long) to 16 (all short) tries in a day
    assert 12 <= delivery.attempts <= 16
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == delivery.attempts


def test_a_redirect_is_not_followed(endpoint, receiver):
    member = MemberFactory(enrolled_by=endpoint.partner)
    delivery = WebhookDelivery.objects.get(event=event_dispatched(member))
    receiver.answer(302)

    attempt = services.delivery_attempt(delivery_id=delivery.pk)

    assert attempt.status_code == 302
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


def test_the_task_run_twice_delivers_once(endpoint, receiver):
    from loyalty.webhooks.tasks import deliver

    member = MemberFactory(enrolled_by=endpoint.partner)
    delivery = WebhookDelivery.objects.get(event=event_dispatched(member))

    assert deliver.run(delivery.pk) is True
    assert deliver.run(delivery.pk) is False

    assert len(receiver.received) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_an_event_dispatched_twice_makes_one_delivery(endpoint):
    member = MemberFactory(enrolled_by=endpoint.partner)
    event = event_dispatched(member)

    assert outbox.events_dispatch(event_ids=[event.pk]) == 0
    outbox.events_dispatch_pending(now=timezone.now() + timedelta(hours=1))  # the sweep (the enrolment's event)
    assert WebhookDelivery.objects.filter(event=event).count() == 1


def test_a_new_delivery_is_enqueued_when_the_dispatch_commits(
    endpoint, django_capture_on_commit_callbacks, monkeypatch
):
    from loyalty.webhooks import tasks

    sent = []
    monkeypatch.setattr(tasks.deliver, "delay", sent.append)
    member = MemberFactory(enrolled_by=endpoint.partner)
    with transaction.atomic():
        event = outbox.event_record(type=EventType.POINTS_EARNED, member=member, data={})

    with django_capture_on_commit_callbacks(execute=True):
        outbox.events_dispatch(event_ids=[event.pk])

    assert sent == [WebhookDelivery.objects.get(event=event).pk]


def test_a_rolled_back_change_sends_nothing(endpoint, receiver, django_capture_on_commit_callbacks):
    member = MemberFactory(enrolled_by=endpoint.partner)
    before = OutboxEvent.objects.count()

    def change_that_fails():
        with transaction.atomic():
            outbox.event_record(type=EventType.POINTS_EARNED, member=member, data={})
            raise RuntimeError("the change fails")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        change_that_fails()

    assert callbacks == []
    assert OutboxEvent.objects.count() == before
    outbox.events_dispatch_pending(now=timezone.now() + timedelta(hours=1))
    assert (WebhookDelivery.objects.count(), receiver.received) == (0, [])


@pytest.mark.parametrize(
    ("audience", "delivered"),
    [
        pytest.param("enrolled", True, id="the member's enrolling partner hears"),
        pytest.param("caused", True, id="the partner that made the change hears"),
        pytest.param("other", False, id="another partner does not"),
    ],
)
def test_only_partners_that_may_see_the_member_get_a_delivery(endpoint, audience, delivered):
    other = PartnerFactory()
    member = MemberFactory(enrolled_by=endpoint.partner if audience == "enrolled" else other)
    event = event_dispatched(member, partner=endpoint.partner if audience == "caused" else other)

    assert WebhookDelivery.objects.filter(event=event, endpoint=endpoint).exists() is delivered


def test_an_endpoint_gets_only_its_event_types_and_only_while_active(endpoint):
    member = MemberFactory(enrolled_by=endpoint.partner)
    event_dispatched(member, type=EventType.VOUCHER_USED)
    endpoint.active = False
    endpoint.save()
    event_dispatched(member, type=EventType.POINTS_EARNED)

    assert WebhookDelivery.objects.count() == 0


def test_resend_is_a_new_delivery_of_the_same_event_id(endpoint, receiver):
    member = MemberFactory(enrolled_by=endpoint.partner)
    event = event_dispatched(member)
    first = WebhookDelivery.objects.get(event=event)
    services.delivery_attempt(delivery_id=first.pk)

    resent = services.delivery_resend(delivery=first)
    services.delivery_attempt(delivery_id=resent.pk)

    assert (resent.event_id, resent.endpoint_id, resent.resend_of_id) == (event.pk, endpoint.pk, first.pk)
    assert [headers["Loyalty-Event-Id"] for headers, _body in receiver.received] == [str(event.pk)] * 2
    assert [json.loads(body)["id"] for _headers, body in receiver.received] == [str(event.pk)] * 2
    resent.refresh_from_db()
    assert resent.status == DeliveryStatus.DELIVERED


def test_a_resend_names_who_asked_and_its_key_resends_once(endpoint, django_capture_on_commit_callbacks):
    member = MemberFactory(enrolled_by=endpoint.partner)
    first = WebhookDelivery.objects.get(event=event_dispatched(member))
    staff = User.objects.create_user("staff", is_staff=True)

    with django_capture_on_commit_callbacks() as callbacks:
        resent = services.delivery_resend(delivery=first, resent_by=staff, idempotency_key="admin:k1")
        again = services.delivery_resend(delivery=first, resent_by=staff, idempotency_key="admin:k1")

    assert again.pk == resent.pk
    assert (resent.resend_of, resent.resent_by, resent.resend_key) == (first, staff, "admin:k1")
    assert WebhookDelivery.objects.filter(resend_of=first).count() == 1
    assert len(callbacks) == 1  # one sending enqueued


def test_a_resend_key_used_for_another_delivery_is_refused(endpoint):
    member = MemberFactory(enrolled_by=endpoint.partner)
    first = WebhookDelivery.objects.get(event=event_dispatched(member))
    second = WebhookDelivery.objects.get(event=event_dispatched(member))
    services.delivery_resend(delivery=first, idempotency_key="admin:k1")

    with pytest.raises(IdempotencyConflict):
        services.delivery_resend(delivery=second, idempotency_key="admin:k1")

    assert not WebhookDelivery.objects.filter(resend_of=second).exists()


def test_the_sweep_lists_due_deliveries_only(endpoint, receiver):
    member = MemberFactory(enrolled_by=endpoint.partner)
    due = WebhookDelivery.objects.get(event=event_dispatched(member))
    later = WebhookDelivery.objects.get(event=event_dispatched(member))
    receiver.answer(500)
    services.delivery_attempt(delivery_id=later.pk)

    assert services.deliveries_due() == [due.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_attempt(receiver, allow_private):
    import threading

    from django.db import connection

    endpoint = services.endpoint_create(partner=PartnerFactory(), url=receiver.url, event_types=["points.earned"])
    member = MemberFactory(enrolled_by=endpoint.partner)
    delivery = WebhookDelivery.objects.get(event=event_dispatched(member))
    receiver.answer(200, wait=0.5)
    results, barrier = [], threading.Barrier(2)

    def work():
        try:
            barrier.wait()
            results.append(services.delivery_attempt(delivery_id=delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(result is None for result in results) == [False, True]
    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_resends_with_one_key_at_once_make_one_delivery(receiver, allow_private):
    endpoint = services.endpoint_create(partner=PartnerFactory(), url=receiver.url, event_types=["points.earned"])
    member = MemberFactory(enrolled_by=endpoint.partner)
    first = WebhookDelivery.objects.get(event=event_dispatched(member))

    outcomes = run_together(
        *[lambda: services.delivery_resend(delivery=first, idempotency_key="admin:same-click") for _ in range(4)]
    )

    assert len({outcome.pk for outcome in outcomes}) == 1
    assert WebhookDelivery.objects.filter(resend_of=first).count() == 1
