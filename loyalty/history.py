"""Configuration history (django-simple-history): who changed a configuration row, and when.

A history row names the staff user who saved it. A change made through the partner API has
no staff user (the request's user there is a partner, which a history row cannot name): its
row names nobody, and the partner's own request log says who called.
"""

from django.contrib.auth.models import AbstractBaseUser
from simple_history.models import HistoricalRecords


def staff_user(instance, request=None, **kwargs):
    user = getattr(instance, "_history_user", None) or getattr(request, "user", None)
    return user if isinstance(user, AbstractBaseUser) else None


def config_history(**options) -> HistoricalRecords:
    """A model's ``history`` field: every save kept with the staff user who made it."""
    return HistoricalRecords(get_user=staff_user, **options)
