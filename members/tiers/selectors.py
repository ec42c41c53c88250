"""Reads of tiers: a member's progress and history, as the portal, the API and the admin show them.

``tier_progress_get`` is the one answer to "which tier, why, what is missing, until when":
the portal's *My tier* page, the dashboard, the partner API and the staff's member page
all render it, so they cannot disagree. It reads the policy, the tiers, the member's tier
and the member's qualifying days still in the window: four queries whatever the history.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from loyalty.clock import program_date

from . import rules
from .models import MemberTier, QualificationBasis, QualifyingDay, Tier, TierChange, TierPolicy

TIER_HISTORY_SHOWN = 20
MONEY_PLACES = Decimal("0.01")


class HeldBecause:
    """Why a member holds its tier (a code; the portal and the admin render the words)."""

    QUALIFIED = "qualified"  # its basis reaches the tier's threshold now
    GRACE = "grace"  # it no longer does, and the grace period since the last day it did runs
    MANUAL = "manual"  # staff set it by hand until a day


@dataclass(frozen=True)
class TierProgress:
    basis: str  # a QualificationBasis
    window_months: int | None  # None for lifetime points
    value: int | Decimal  # the basis now: points (int) or spend (Decimal) in the window, or lifetime points
    tier: Tier | None
    held_because: str | None  # a HeldBecause code; None without a tier
    grace_until: date | None  # the grace period's last day (GRACE)
    manual_until: date | None  # the last day of a tier set by hand (MANUAL)
    manual_note: str  # the staff's reason for it
    next_tier: Tier | None
    missing: int | Decimal | None  # what the basis lacks to reach next_tier
    by: date | None  # what is missing must be earned by this day to count with what is held now
    downgrade_on: date | None  # the first day without the tier if nothing changes; None: it is kept
    downgrade_to: Tier | None  # the tier the member would hold from then (None: no tier)

    @property
    def uses_spend(self) -> bool:
        return self.basis == QualificationBasis.ROLLING_SPEND

    @property
    def keep_threshold(self) -> Decimal | None:
        """What the basis must stay at or above to keep the tier by qualifying."""
        return _amount(self.tier.threshold, spend=self.uses_spend) if self.tier else None

    @property
    def next_value(self) -> int | Decimal | None:
        """What the next tier asks for, where the progress bar ends."""
        return _amount(self.next_tier.threshold, spend=self.uses_spend) if self.next_tier else None


def tier_progress_get(*, member, today: date | None = None) -> TierProgress:
    """The member's tier, why it holds it, what is missing for the next and when a downgrade would come.

    Four queries (policy, tiers, the member's tier, its qualifying days in the window), whatever
    the history. ``today`` is a program day (default: now). What it says assumes nothing changes:
    no new activity, no recalculation other than the daily one.
    """
    today = today or program_date()
    # The row comes from a migration; a database flushed since (transactional tests) reads as the defaults.
    policy = TierPolicy.objects.filter(pk=1).first() or TierPolicy(pk=1)
    tiers = list(Tier.objects.order_by("rank"))
    state = MemberTier.objects.filter(member_id=member.pk).first()
    days = _qualifying_days(member, policy, today)
    value = sum((amount for _, amount in days), Decimal(0) if rules.uses_spend(policy) else 0)

    tier = next((tier for tier in tiers if state and tier.pk == state.tier_id), None)
    manual_until = state.manual_until if tier and state.manual_until and state.manual_until >= today else None
    qualified_on = state.qualified_on if state else None
    qualifies = tier is not None and value >= tier.threshold
    if tier is None:
        held_because = None
    elif qualifies:
        held_because = HeldBecause.QUALIFIED
    elif manual_until:
        held_because = HeldBecause.MANUAL
    else:
        held_because = HeldBecause.GRACE
    rolling = rules.window_start(today, policy) is not None
    next_tier = next((other for other in tiers if tier is None or other.rank > tier.rank), None)
    downgrade_on, downgrade_to = (
        _downgrade(tiers, tier, days, qualifies, qualified_on, manual_until, policy, today) if tier else (None, None)
    )
    return TierProgress(
        basis=policy.basis,
        window_months=policy.window_months if rolling else None,
        value=value,
        tier=tier,
        held_because=held_because,
        grace_until=rules.grace_end(qualified_on, policy)
        if held_because == HeldBecause.GRACE and qualified_on
        else None,
        manual_until=manual_until,
        manual_note=state.manual_reason if manual_until else "",
        next_tier=next_tier,
        missing=_amount(max(next_tier.threshold - value, 0), spend=rules.uses_spend(policy)) if next_tier else None,
        by=rules.leaves_window_after(days[0][0], policy) if next_tier and rolling and days else None,
        downgrade_on=downgrade_on,
        downgrade_to=downgrade_to,
    )


def _amount(value: Decimal | int, *, spend: bool) -> int | Decimal:
    """A threshold or a difference in the basis's unit: money to the cent, points whole (rounded up)."""
    return Decimal(value).quantize(MONEY_PLACES) if spend else math.ceil(value)


def _downgrade(tiers, tier, days, qualifies, qualified_on, manual_until, policy, today):
    """(The first day without ``tier``, the tier held from then) if nothing changes; (None, None) if it is kept.

    The tier holds through the later of the grace period after the last day the member
    qualifies (as its qualifying days leave the window) and the end of a tier set by hand;
    then the member drops to what it still qualifies for on that day, never lower.
    """
    if qualifies:
        last_qualified = _last_day_at_or_above(days, tier.threshold, policy)
        if last_qualified is None:
            return None, None
    else:
        last_qualified = qualified_on
    held_until = [day for day in (last_qualified and rules.grace_end(last_qualified, policy), manual_until) if day]
    # With nothing that holds it (its grace over, recalculation not yet run), it goes at the next one.
    first_day = max([*held_until, today]) + timedelta(days=1)
    lower = rules.tier_for(tiers, _value_on(days, first_day, policy))
    if lower is not None and lower.rank >= tier.rank:
        return None, None
    return first_day, lower


def _qualifying_days(member, policy: TierPolicy, today: date) -> list[tuple[date | None, int | Decimal]]:
    """(day, amount) of what counts today, oldest first; for lifetime points one row, its total."""
    field = "spend_amount" if rules.uses_spend(policy) else "points"
    rows = QualifyingDay.objects.filter(member_id=member.pk, day__lte=today)
    start = rules.window_start(today, policy)
    if start is None:
        return [(None, rows.aggregate(total=Sum(field))["total"] or 0)]
    return list(rows.filter(day__gte=start, **{f"{field}__gt": 0}).order_by("day").values_list("day", field))


def _value_on(days, day: date, policy: TierPolicy) -> int | Decimal:
    """The basis on ``day`` if nothing new is earned: what is held now, less what has left the window by then."""
    return sum(
        (amount for earned, amount in days if earned is None or rules.leaves_window_after(earned, policy) >= day),
        Decimal(0) if rules.uses_spend(policy) else 0,
    )


def _last_day_at_or_above(days, threshold: Decimal, policy: TierPolicy) -> date | None:
    """The last day the basis stays at or above ``threshold`` (it is now) as ``days`` leave the window.

    None if it always does: lifetime points never leave, and every basis reaches a threshold of 0.
    """
    remaining = sum(amount for _, amount in days)
    for earned, amount in days:
        remaining -= amount
        if earned is not None and remaining < threshold:
            return rules.leaves_window_after(earned, policy)
    return None


def member_tier_history(*, member, limit: int = TIER_HISTORY_SHOWN) -> list[TierChange]:
    """The member's latest tier changes, newest first, with both tiers and the staff member joined (one query)."""
    changes = TierChange.objects.filter(member_id=member.pk).select_related("from_tier", "to_tier", "actor")
    return list(changes.order_by("-created_at", "-id")[:limit])
