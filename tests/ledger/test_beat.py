"""Beat's schedule: the settings create each periodic task once; staff edits in the admin survive restarts."""

import pytest
from django.conf import settings
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from loyalty.beat import DefaultsOnceScheduler
from loyalty.celery import app


def start_beat(scheduler_class=DefaultsOnceScheduler):
    """What `celery beat` does at start: build its scheduler, which sets up the schedule."""
    return scheduler_class(app=app)


def test_the_project_runs_beat_with_the_scheduler_that_keeps_staff_edits():
    assert settings.CELERY_BEAT_SCHEDULER == "loyalty.beat:DefaultsOnceScheduler"


@pytest.mark.django_db(transaction=True)  # the scheduler closes old connections and commits
def test_the_first_start_creates_each_task_from_the_settings():
    start_beat()

    expire = PeriodicTask.objects.get(name="expire-points-daily")
    assert (expire.task, expire.enabled, expire.crontab.hour, expire.crontab.minute) == (
        "ledger.expire_points",
        True,
        "0",
        "5",
    )
    assert PeriodicTask.objects.get(name="release-pending-points-hourly").task == "ledger.release_pending_points"
    holds = PeriodicTask.objects.get(name="release-expired-holds-every-minute")  # pay with points at a till
    assert (holds.task, holds.crontab.minute, holds.crontab.hour) == ("ledger.release_expired_holds", "*", "*")
    tiers = PeriodicTask.objects.get(name="recalculate-tiers-daily")  # after expiry
    assert (tiers.task, tiers.crontab.hour, tiers.crontab.minute) == ("tiers.recalculate_tiers", "0", "30")


@pytest.mark.django_db(transaction=True)  # the scheduler closes old connections and commits
def test_a_staff_edit_survives_the_next_start():
    # given beat started once, then staff moved the expiry to 02:30 and disabled the release
    start_beat()
    expire = PeriodicTask.objects.get(name="expire-points-daily")
    expire.crontab = CrontabSchedule.objects.create(hour="2", minute="30", timezone=settings.TIME_ZONE)
    expire.save()
    PeriodicTask.objects.filter(name="release-pending-points-hourly").update(enabled=False)

    # when beat starts again (a restart, a deploy)
    scheduler = start_beat()

    # then the edits stand, and beat schedules what staff set
    expire.refresh_from_db()
    assert (expire.crontab.hour, expire.crontab.minute) == ("2", "30")
    assert PeriodicTask.objects.get(name="release-pending-points-hourly").enabled is False
    assert "release-pending-points-hourly" not in scheduler.schedule


@pytest.mark.django_db(transaction=True)  # the scheduler closes old connections and commits
def test_django_celery_beats_own_scheduler_would_undo_the_edit():
    # Why the project has its own scheduler: the stock one writes the settings over the database.
    start_beat(DatabaseScheduler)
    expire = PeriodicTask.objects.get(name="expire-points-daily")
    expire.crontab = CrontabSchedule.objects.create(hour="2", minute="30", timezone=settings.TIME_ZONE)
    expire.save()

    start_beat(DatabaseScheduler)

    expire.refresh_from_db()
    assert (expire.crontab.hour, expire.crontab.minute) == ("0", "5")
