"""Runs of consecutive periods: the one rule for streaks (a member's streak, a mission's streak step).

Activity is counted per period of the program's calendar, days or ISO weeks (Monday first), taken from
the local date in ``settings.TIME_ZONE``: a DST change shortens or lengthens a day, never skips or
repeats one. Consecutive periods have consecutive indexes (``period_of``). A run goes on across up to
``grace`` missing periods in a row, which do not count in its length; a run is still current while
its last active period is today, or no more than ``grace + 1`` periods back (today not active yet does
not break it).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

DAY = "day"
WEEK = "week"


def period_of(day: date | datetime, unit: str) -> int:
    """The index of the day's period (a datetime counts on its local date in the program's time zone)."""
    if isinstance(day, datetime):
        day = timezone.localdate(day)
    if unit == DAY:
        return day.toordinal()
    if unit == WEEK:
        return (day.toordinal() - 1) // 7  # 0001-01-01 is a Monday
    raise ValueError(f"{unit!r} is not a streak unit.")


@dataclass(frozen=True)
class Streak:
    current: int = 0
    longest: int = 0
    last: int | None = None  # the last active period


def streak_of(periods: Iterable[int], *, today: int, grace: int = 0) -> Streak:
    """The current and longest runs of the active ``periods`` (any order, repeats allowed; later than
    ``today`` ignored)."""
    run = longest = 0
    last = None
    for period in sorted({period for period in periods if period <= today}):
        run = run + 1 if last is not None and period - last - 1 <= grace else 1
        longest = max(longest, run)
        last = period
    return Streak(current=run if is_alive(last, today=today, grace=grace) else 0, longest=longest, last=last)


def streak_extend(streak: Streak, period: int, *, grace: int = 0) -> Streak:
    """``streak`` after activity in ``period`` at or after its last one (what a new purchase or event does)."""
    if streak.last is not None and period <= streak.last:
        return streak
    current = streak.current + 1 if streak.last is not None and period - streak.last - 1 <= grace else 1
    return Streak(current=current, longest=max(streak.longest, current), last=period)


def is_alive(last: int | None, *, today: int, grace: int = 0) -> bool:
    return last is not None and today - last <= grace + 1
