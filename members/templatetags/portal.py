"""How the portal writes numbers and times: one format each, in the reader's language, in program time."""

import math
from datetime import date, datetime, timedelta

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, number_format

from loyalty.clock import program_timezone

register = template.Library()


@register.filter
def points(value: int | None) -> str:
    """A whole number of points with the language's thousands separator: 1,945 (en), 1 945 (fr)."""
    if value is None or value == "":
        return ""
    return number_format(int(value), force_grouping=True)


@register.filter
def signed_points(value: int) -> str:
    """Points with their sign: +1,945 or −20 (a real minus sign)."""
    value = int(value)
    sign = "+" if value > 0 else "\u2212" if value < 0 else ""
    return f"{sign}{points(abs(value))}"


@register.filter
def moment(value: datetime | None) -> str:
    """A moment in the program's time zone, as the language writes a date and time (``DATETIME_FORMAT``)."""
    if not value:
        return ""
    return date_format(timezone.localtime(value, program_timezone()), "DATETIME_FORMAT")


@register.filter
def day(value: date | datetime | None) -> str:
    """A day (a moment's day in the program's time zone), as the language writes a date (``DATE_FORMAT``)."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value, program_timezone()).date()
    return date_format(value, "DATE_FORMAT")


@register.filter
def iso_moment(value: datetime | None) -> str:
    """A moment for a ``<time datetime>`` attribute: ISO 8601 in the program's time zone."""
    if not value:
        return ""
    return timezone.localtime(value, program_timezone()).isoformat(timespec="seconds")


@register.simple_tag
def support_email() -> str:
    return settings.LOYALTY_SUPPORT_EMAIL


@register.filter
def minutes(value: timedelta | None) -> int:
    """A duration in whole minutes, rounded up (a lock of 14 min 30 s is "15 minutes")."""
    if not value:
        return 0
    return math.ceil(value.total_seconds() / 60)
