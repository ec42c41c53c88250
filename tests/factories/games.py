"""Badges, streaks and leaderboards for tests, through their services."""

from datetime import date

from missions.badges.models import Badge
from missions.badges.services import badge_save
from missions.leaderboards.models import Leaderboard, Metric
from missions.leaderboards.services import leaderboard_save
from missions.streaks.services import streak_policy_set


def badge_make(code: str, **fields) -> Badge:
    fields.setdefault("name", code.replace("-", " ").title())
    return badge_save(badge=Badge(code=code, **fields))


def first_purchase_badge(**fields) -> Badge:
    return badge_make("first-purchase", milestone="purchases", milestone_count=1, icon="cart", **fields)


def leaderboard_make(
    name="March", *, metric=Metric.POINTS_EARNED, starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 31), **fields
) -> Leaderboard:
    return leaderboard_save(
        leaderboard=Leaderboard(name=name, metric=metric, starts_on=starts_on, ends_on=ends_on, **fields)
    )


def streak_policy(unit="day", grace=0):
    return streak_policy_set(unit=unit, grace=grace)
