from dataclasses import asdict

from celery import shared_task

from . import services


@shared_task(name="tiers.recalculate_tiers")
def recalculate_tiers() -> dict:
    """Recompute every member's tier (daily on the beat schedule, after expiry)."""
    return asdict(services.tier_recalculate_all())
