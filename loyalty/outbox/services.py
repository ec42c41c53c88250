"""Writing and dispatching outbox events (see models.py)."""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from . import lock_objects
from .models import EventType, OutboxEvent


def event_record(*, type: str, data: dict, member=None, partner=None, now: datetime | None = None) -> OutboxEvent:
    """Write an event in the caller's transaction (which must be open: the change and its event commit together)
    and dispatch it once that transaction commits. ``data`` is plain JSON for receivers."""
    if type not in EventType.values:
        raise ValueError(f"{type!r} is not an outbox event type.")
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError("An outbox event is written in the transaction of its change.")
    event = OutboxEvent.objects.create(
        type=type, data=data, member=member, partner=partner, occurred_at=now or timezone.now()
    )
    transaction.on_commit(lambda: _dispatch_later([event.pk]))
    return event


def events_dispatch(*, event_ids: list, now: datetime | None = None) -> int:
    """Hand the events not yet dispatched to every consumer and mark them dispatched, in one transaction per call:
    a consumer sees an event once even when two dispatchers run it. Returns how many were dispatched."""
    now = now or timezone.now()
    with transaction.atomic():
        events = lock_objects.events_undispatched_for_update(event_ids)
        if not events:
            return 0
        for consume in _consumers():
            consume(events)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    return len(events)


def events_dispatch_pending(
    *, older_than: timedelta = timedelta(seconds=30), batch_size: int = 500, now: datetime | None = None
) -> int:
    """Dispatch what the commit hook did not (a process that died after its commit): events undispatched for longer
    than ``older_than``, in batches. Safe to run beside the hooks and twice at once."""
    now = now or timezone.now()
    total = 0
    while True:
        ids = list(
            OutboxEvent.objects.filter(dispatched_at__isnull=True, occurred_at__lte=now - older_than)
            .order_by("occurred_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return total
        dispatched = events_dispatch(event_ids=ids, now=now)
        total += dispatched
        if dispatched == 0:  # another dispatcher holds them all
            return total


@cache
def _consumers() -> list[Callable[[list[OutboxEvent]], None]]:
    """``settings.LOYALTY_OUTBOX_CONSUMERS``: dotted paths of functions that take a list of events and write what
    they cause (deliveries, notifications) in the dispatcher's transaction."""
    return [import_string(path) for path in settings.LOYALTY_OUTBOX_CONSUMERS]


def _dispatch_later(event_ids: list) -> None:
    from .tasks import dispatch_events

    dispatch_events.delay([str(pk) for pk in event_ids])
