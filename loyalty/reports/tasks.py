from celery import shared_task

from . import rollup


@shared_task(name="reports.close_days")
def close_days() -> dict:
    """Roll up the program days closed since the last run (and those later rows fell in), then snapshot the "now"
    figures (nightly on the beat schedule, after expiry and tiers)."""
    closed = rollup.close_days()
    rollup.snapshot_now()
    return {**closed, "first": str(closed["first"]), "last": str(closed["last"])}
