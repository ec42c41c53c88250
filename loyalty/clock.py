"""Program time: the one place where a moment becomes a day of the program.

Every program date (a lot's last day, "today" for expiry, a history filter's bounds, a
tier's window) is counted in the program's time zone, ``settings.TIME_ZONE``, whatever
time zone is active for the request (a member's browser, ``timezone.override``).
"""

import calendar
from datetime import date, datetime, time

from django.utils import timezone


def program_timezone():
    return timezone.get_default_timezone()


def program_date(moment: datetime | None = None) -> date:
    """The program's day at ``moment`` (now when left out)."""
    return timezone.localtime(moment or timezone.now(), program_timezone()).date()


def program_day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the program's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min), program_timezone())


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (earlier when negative), or the month's last day if it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
