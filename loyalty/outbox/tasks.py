from celery import shared_task

from . import services


@shared_task(name="outbox.dispatch_events")
def dispatch_events(event_ids: list[str]) -> int:
    """Dispatch events just committed (enqueued by ``event_record``'s commit hook)."""
    return services.events_dispatch(event_ids=event_ids)


@shared_task(name="outbox.dispatch_pending")
def dispatch_pending() -> int:
    """Dispatch events the commit hook missed (every minute)."""
    return services.events_dispatch_pending()
