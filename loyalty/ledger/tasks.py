from celery import shared_task

from . import services as ledger


@shared_task(name="ledger.expire_points")
def expire_points() -> dict:
    """Expire every lot past its last day (daily on the beat schedule)."""
    return ledger.expire_due().__dict__


@shared_task(name="ledger.release_pending_points")
def release_pending_points() -> dict:
    """Make available the pending lots whose date has come (hourly)."""
    return ledger.release_pending().__dict__
