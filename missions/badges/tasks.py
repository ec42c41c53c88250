from celery import shared_task
from django.utils import timezone

from . import milestones


@shared_task(name="badges.award_milestones")
def award_milestones() -> int:
    """Award anniversaries and milestones reached before their badge existed (daily; safe to run twice)."""
    return milestones.milestones_award_all(now=timezone.now())
