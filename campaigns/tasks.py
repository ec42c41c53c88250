from dataclasses import asdict

from celery import shared_task
from django.utils import timezone

from . import events


@shared_task(name="campaigns.birthday_events")
def birthday_events() -> dict:
    """Record today's birthday events (daily on the beat schedule; safe to run twice)."""
    run = events.birthday_events_record(now=timezone.now())
    return {**asdict(run), "day": run.day.isoformat()}
