"""Celery beat's scheduler: the settings give each periodic task its first schedule; staff edits win after that.

django-celery-beat's ``DatabaseScheduler`` writes every entry of ``CELERY_BEAT_SCHEDULE``
over the database each time beat starts, so a schedule changed in the admin (*Periodic
tasks*) would come back at the next restart or deploy. This scheduler creates an entry
of the settings only when no periodic task of that name exists: after that the row in
the database is the schedule, and staff own it. To stop a task, untick *enabled* (a
deleted one is created again from the settings at the next start).
"""

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler


class DefaultsOnceScheduler(DatabaseScheduler):
    def update_from_dict(self, mapping):
        known = set(PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True))
        super().update_from_dict({name: entry for name, entry in mapping.items() if name not in known})
