"""What a member sees of their streak."""

from dataclasses import dataclass
from datetime import date

from missions import runs

from .models import MemberActivity
from .services import streak_policy_get


@dataclass(frozen=True)
class StreakView:
    current: int  # 0 once the streak is broken (``runs.is_alive``)
    longest: int
    unit: str
    grace: int
    active_today: bool  # the current period is already counted


def member_streak_get(*, member, today: date) -> StreakView:
    """The member's current (while alive) and longest streak on ``today`` (a program date). One query."""
    policy = streak_policy_get()
    row = (
        MemberActivity.objects.filter(pk=member.pk)
        .values("streak_unit", "streak_current", "streak_longest", "streak_last")
        .first()
    )
    if row is None or row["streak_unit"] != policy.unit:
        return StreakView(0, 0, policy.unit, policy.grace, False)  # none yet, or counted in another unit
    period = runs.period_of(today, policy.unit)
    alive = runs.is_alive(row["streak_last"], today=period, grace=policy.grace)
    return StreakView(
        current=row["streak_current"] if alive else 0,
        longest=row["streak_longest"],
        unit=policy.unit,
        grace=policy.grace,
        active_today=row["streak_last"] == period,
    )
