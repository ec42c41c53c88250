import pytest
from django.db import transaction

from loyalty.outbox import services as outbox
from members.notifications import tasks
from members.services import member_email_verify
from tests.factories.members import MemberFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def consumer(settings):
    """Only the notifications hear of events here (the webhooks' consumer has its own tests)."""
    settings.LOYALTY_OUTBOX_CONSUMERS = ["members.notifications.services.notifications_from_events"]
    settings.LOYALTY_PORTAL_URL = "https://loyalty.example.com/"
    outbox._consumers.cache_clear()
    yield
    outbox._consumers.cache_clear()


@pytest.fixture
def enqueued(monkeypatch):
    """The ids of the notifications whose e-mail was enqueued (``send_email.delay``), in order."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.send_email, "delay", ids.append)
    return ids


@pytest.fixture
def member(db):
    return member_email_verify(member=MemberFactory(email="ada@example.com", first_name="Ada", password=PASSWORD))


def dispatch(capture, *, type: str, member, data: dict, now=None):
    """Record an event as a service would, then dispatch it as the outbox's task does; the dispatch's commit hooks
    (the e-mails' enqueue) run. Returns the event."""
    with transaction.atomic():
        event = outbox.event_record(type=type, member=member, data=data, now=now)
    with capture(execute=True):
        outbox.events_dispatch(event_ids=[event.pk])
    return event
