from dataclasses import asdict

from celery import shared_task

from . import services as ledger


@shared_task(name="ledger.expire_points")
def expire_points() -> dict:
    """Expire every lot past its last day (daily on the beat schedule)."""
    return asdict(ledger.expire_due())


@shared_task(name="ledger.release_pending_points")
def release_pending_points() -> dict:
    """Make available the pending lots whose date has come (hourly)."""
    return asdict(ledger.release_pending())


@shared_task(name="ledger.release_expired_holds")
def release_expired_holds() -> int:
    """Give back the points of holds not captured in time (every minute)."""
    return ledger.holds_release_expired()
