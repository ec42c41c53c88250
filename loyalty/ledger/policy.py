"""The program's expiry policy, read from settings.

``never``: points do not expire. ``days``: they can be spent for N days after they
become available. ``end_of_month`` / ``end_of_year``: until the last day of the month
(or year) N months after they become available. Dates are in the program's time zone.
"""

import calendar
from datetime import date, datetime, timedelta

from django.conf import settings

from loyalty.clock import add_months, program_date

POLICIES = ("never", "days", "end_of_month", "end_of_year")


def expiry_date(available_at: datetime) -> date | None:
    """The last day on which points that become available at ``available_at`` count."""
    policy = settings.LOYALTY_POINTS_EXPIRY_POLICY
    period = settings.LOYALTY_POINTS_EXPIRY_PERIOD
    start = program_date(available_at)
    if policy == "never":
        return None
    if policy == "days":
        return start + timedelta(days=period)
    later = add_months(start, period)
    if policy == "end_of_month":
        return later.replace(day=calendar.monthrange(later.year, later.month)[1])
    return later.replace(month=12, day=31)
