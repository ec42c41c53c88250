from celery import shared_task

from . import rollup


@shared_task(name="reports.close_days")
def close_days() -> dict:
    """Roll up the program days closed since the last run (those later rows fell in too) and today up to now,
    then snapshot the "now" figures and fill the cache of the default period's buyers (hourly on the beat
    schedule; the 00:50 run closes the day that ended)."""
    closed = rollup.close_days()
    rollup.snapshot_now()
    rollup.warm()
    return {**closed, "first": str(closed["first"]), "last": str(closed["last"])}
