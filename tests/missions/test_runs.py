from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from missions.runs import DAY, WEEK, Streak, period_of, streak_extend, streak_of

PARIS = ZoneInfo("Europe/Paris")


def days(*days_of_month, month=3, year=2026):
    return [period_of(date(year, month, day), DAY) for day in days_of_month]


@pytest.mark.parametrize(
    ("active", "today", "grace", "current", "longest"),
    [
        ([], 10, 0, 0, 0),
        ([10], 10, 0, 1, 1),
        ([8, 9, 10], 10, 0, 3, 3),
        ([8, 9], 10, 0, 2, 2),  # today not active yet: still current
        ([7, 8], 10, 0, 0, 2),  # a missed day breaks it
        ([7, 8], 10, 1, 2, 2),  # ... unless a grace day covers it
        ([6, 7], 10, 1, 0, 2),  # two missed days are beyond one grace day
        ([1, 2, 3, 5, 6], 6, 0, 2, 3),
        ([1, 2, 3, 5, 6], 6, 1, 5, 5),  # the grace day bridges the gap; it does not count in the length
        ([3, 3, 2, 1], 3, 0, 3, 3),  # any order, repeats
        ([9, 10, 11], 10, 0, 2, 2),  # later than today: ignored
    ],
)
def test_streak_of(active, today, grace, current, longest):
    base = period_of(date(2026, 3, 1), DAY) - 1
    streak = streak_of([base + day for day in active], today=base + today, grace=grace)
    assert (streak.current, streak.longest) == (current, longest)


def test_days_across_the_spring_dst_change_are_consecutive(settings):
    settings.TIME_ZONE = "Europe/Paris"
    # 2026-03-29 lasts 23 hours in Paris; an activity late on each evening is still one a day
    moments = [datetime(2026, 3, day, 23, 30, tzinfo=PARIS) for day in (28, 29, 30)]
    periods = [period_of(moment, DAY) for moment in moments]
    assert periods == days(28, 29, 30)
    assert streak_of(periods, today=periods[-1]).current == 3


def test_a_utc_time_counts_on_the_local_date(settings):
    settings.TIME_ZONE = "Europe/Paris"
    just_after_local_midnight = datetime(2026, 10, 24, 22, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on the 25th
    assert period_of(just_after_local_midnight, DAY) == days(25, month=10)[0]


def test_weeks_start_on_monday():
    monday, sunday, next_monday = date(2026, 11, 30), date(2026, 12, 6), date(2026, 12, 7)
    assert period_of(monday, WEEK) == period_of(sunday, WEEK) == period_of(next_monday, WEEK) - 1


def test_extend_matches_a_recount():
    active = days(1, 2, 4, 5, 6, 9)
    for grace in (0, 1):
        streak = Streak()
        for period in active:
            streak = streak_extend(streak, period, grace=grace)
        assert streak == streak_of(active, today=active[-1], grace=grace)


def test_extend_ignores_the_same_or_an_earlier_period():
    streak = streak_extend(Streak(), 5)
    assert streak_extend(streak, 5) is streak
    assert streak_extend(streak, 4) is streak


def test_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="not a streak unit"):
        period_of(date(2026, 1, 1), "month")
