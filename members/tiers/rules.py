"""The tier rules as pure functions: what the upgrade, the recalculation and the portal's
explanation all compute from, so the three cannot disagree. Days are program days."""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from loyalty.clock import add_months

from .models import QualificationBasis, Tier, TierPolicy


def window_start(today: date, policy: TierPolicy) -> date | None:
    """The first program day whose activity counts on ``today``; ``None`` for lifetime points."""
    if policy.basis == QualificationBasis.LIFETIME_POINTS:
        return None
    return add_months(today, -policy.window_months) + timedelta(days=1)


def leaves_window_after(day: date, policy: TierPolicy) -> date | None:
    """The last program day on which activity of ``day`` still counts; ``None`` if it always counts."""
    if policy.basis == QualificationBasis.LIFETIME_POINTS:
        return None
    return add_months(day, policy.window_months) - timedelta(days=1)


def uses_spend(policy: TierPolicy) -> bool:
    return policy.basis == QualificationBasis.ROLLING_SPEND


def tier_for(tiers: Sequence[Tier], value: Decimal | int) -> Tier | None:
    """The highest-ranked of ``tiers`` whose threshold ``value`` reaches, or ``None``."""
    reached = [tier for tier in tiers if value >= tier.threshold]
    return max(reached, key=lambda tier: tier.rank) if reached else None


def grace_end(qualified_on: date, policy: TierPolicy) -> date:
    """The last day a tier holds after the last day its member qualified for it."""
    return add_months(qualified_on, policy.grace_months)


def grace_cutoff(today: date, policy: TierPolicy) -> date:
    """The first ``qualified_on`` whose grace still holds on ``today``: before it, ``today > grace_end``.

    What set-based SQL compares ``qualified_on`` with (``grace_end`` is not monotonic in a
    way SQL can invert: month ends clamp), found by walking up from a day just before it.
    """
    day = add_months(today, -policy.grace_months) - timedelta(days=3)
    while grace_end(day, policy) < today:
        day += timedelta(days=1)
    return day
