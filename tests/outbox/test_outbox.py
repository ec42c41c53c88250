"""The outbox: an event commits with its change or not at all, and each consumer sees it once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from loyalty.outbox import services
from loyalty.outbox.models import EventType, OutboxEvent
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
SEEN: list = []  # the consumer's record of what it was handed


def remember(events):
    SEEN.extend(event.pk for event in events)


@pytest.fixture(autouse=True)
def consumer(settings):
    SEEN.clear()
    settings.LOYALTY_OUTBOX_CONSUMERS = ["tests.outbox.test_outbox.remember"]
    services._consumers.cache_clear()
    yield
    services._consumers.cache_clear()


def test_an_event_is_dispatched_after_its_commit_and_once(django_capture_on_commit_callbacks, monkeypatch):
    member = MemberFactory()
    dispatched = []
    monkeypatch.setattr(services, "_dispatch_later", dispatched.append)  # the Celery enqueue, not the dispatch
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = services.event_record(type=EventType.MEMBER_ENROLLED, member=member, data={"n": 1}, now=NOW)

    assert dispatched == [[event.pk]]
    assert services.events_dispatch(event_ids=[event.pk], now=NOW) == 1
    assert services.events_dispatch(event_ids=[event.pk], now=NOW) == 0
    event.refresh_from_db()
    assert (SEEN, event.dispatched_at) == ([event.pk], NOW)


def test_a_rolled_back_change_leaves_no_event():
    def change_that_fails():
        with transaction.atomic():
            services.event_record(type=EventType.POINTS_EARNED, data={}, now=NOW)
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()

    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_event_outside_a_transaction_is_refused():
    with pytest.raises(transaction.TransactionManagementError):
        services.event_record(type=EventType.POINTS_EARNED, data={}, now=NOW)

    assert OutboxEvent.objects.count() == 0


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match="not an outbox event type"), transaction.atomic():
        services.event_record(type="points.stolen", data={}, now=NOW)


def test_the_sweep_dispatches_what_the_commit_hook_missed_and_only_that():
    with transaction.atomic():
        old = services.event_record(type=EventType.POINTS_EARNED, data={}, now=NOW - timedelta(minutes=5))
        services.event_record(type=EventType.POINTS_EARNED, data={}, now=NOW)

    assert services.events_dispatch_pending(now=NOW, batch_size=1) == 1
    assert services.events_dispatch_pending(now=NOW) == 0
    assert [old.pk] == SEEN
