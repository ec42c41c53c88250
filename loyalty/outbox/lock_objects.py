"""The only place outbox rows are locked."""

from django.db import connection
from django.db.transaction import TransactionManagementError

from .models import OutboxEvent


def events_undispatched_for_update(event_ids: list) -> list[OutboxEvent]:
    """Lock the events of ``event_ids`` not yet dispatched, in primary-key order; rows another dispatcher holds are
    skipped (PostgreSQL), so two dispatchers never hand one event to the consumers twice."""
    if connection.get_autocommit():
        raise TransactionManagementError("Outbox events can only be locked inside a transaction.")
    rows = OutboxEvent.objects.filter(pk__in=event_ids, dispatched_at__isnull=True).order_by("pk")
    return list(rows.select_for_update(skip_locked=True))
