"""Writing and dispatching outbox events (see models.py)."""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from loyalty.celery import on_commit_send

from . import lock_objects
from .models import EventType, OutboxEvent


def event_record(*, type: str, data: dict, member=None, partner=None, now: datetime | None = None) -> OutboxEvent:
    """Write an event in the caller's transaction (which must be open: the change and its event commit together)
    and dispatch it once that transaction commits. ``data`` is plain JSON for receivers."""
    return events_record(events=[(type, data)], member=member, partner=partner, now=now)[0]


def events_record(
    *, events: list[tuple[str, dict]], member=None, partner=None, now: datetime | None = None
) -> list[OutboxEvent]:
    """``event_record`` of several events ``(type, data)`` of one member and partner (a purchase's points and the
    missions it completed): one INSERT, and one task dispatches them all after the commit."""
    for type, _data in events:
        if type not in EventType.values:
            raise ValueError(f"{type!r} is not an outbox event type.")
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError("An outbox event is written in the transaction of its change.")
    occurred_at = now or timezone.now()
    rows = OutboxEvent.objects.bulk_create(
        OutboxEvent(type=type, data=data, member=member, partner=partner, occurred_at=occurred_at)
        for type, data in events
    )
    if rows:
        on_commit_send(lambda: _dispatch_later([row.pk for row in rows]))
    return rows


def events_record_from(*, type: str, rows: QuerySet, member: str, occurred_at: str, data: dict) -> list:
    """Write one event per row of ``rows`` in one ``INSERT ... SELECT`` (bulk work: no row comes to Python), in
    the caller's open transaction, and dispatch them once it commits. ``member`` and ``occurred_at`` name the
    rows' member id and time; ``data`` maps each key of the events' data to an expression over the rows (a field
    path or an ``F``/expression of numbers and strings). Returns the new events' ids."""
    if type not in EventType.values:
        raise ValueError(f"{type!r} is not an outbox event type.")
    if transaction.get_autocommit():
        raise transaction.TransactionManagementError("An outbox event is written in the transaction of its change.")
    columns = {"ev_member": F(member), "ev_at": F(occurred_at)}
    columns.update({f"ev_d_{key}": F(value) if isinstance(value, str) else value for key, value in data.items()})
    sql, params = rows.annotate(**columns).values(*columns).order_by().query.sql_with_params()
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    new_id = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
    pairs = ", ".join(f"'{key}', source.{quote('ev_d_' + key)}" for key in data)
    build = "jsonb_build_object" if postgres else "json_object"
    target = ", ".join(quote(column) for column in ("id", "type", "occurred_at", "member_id", "partner_id", "data"))
    statement = (
        f"INSERT INTO {quote(OutboxEvent._meta.db_table)} ({target})"
        f" SELECT {new_id}, %s, source.ev_at, source.ev_member, NULL, {build}({pairs})"
        f" FROM ({sql}) AS source RETURNING {quote('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [type, *params])
        ids = [row[0] for row in cursor.fetchall()]
    if ids:
        on_commit_send(lambda: _dispatch_later(ids))
    return ids


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
