"""Whether a member may redeem a reward now: the rules that the redemption service enforces and that the
catalog shows (a tier-locked reward visible but marked). Pure: it reads nothing from the database."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loyalty.clock import program_date, program_day_start

from .models import LimitPeriod, Reward


@dataclass(frozen=True)
class Refusal:
    """Why a reward is not for a member now: ``reason`` is a stable code, ``message`` what the member reads."""

    reason: str
    message: str


def reward_refusal(
    reward: Reward,
    *,
    tier_id: int | None,
    tier_ids: frozenset[int],
    partner_ids: frozenset[int],
    partner_id: int | None,
    now: datetime,
) -> Refusal | None:
    """The first rule that keeps the member from ``reward`` at ``now`` (``None``: the reward is for them).

    ``tier_ids`` are the reward's tiers (empty: everyone), ``partner_ids`` the partners that accept it
    (empty: all); ``partner_id`` is the partner redeeming for a member present (``None``: the portal).
    Stock, limits and points are checked by the service under its locks.
    """
    if not reward.active:
        return Refusal("inactive", _("This reward is no longer offered."))
    if reward.available_from and now < reward.available_from:
        return Refusal("not_yet", _("This reward is not available yet."))
    if reward.available_until and now >= reward.available_until:
        return Refusal("ended", _("This reward is no longer available."))
    if reward.valid_until and program_date(now) > reward.valid_until:  # its voucher would be expired at issue
        return Refusal("ended", _("This reward is no longer available."))
    if tier_ids and tier_id not in tier_ids:
        return Refusal("tier", _("This reward is for members of other tiers."))
    if partner_id is not None and partner_ids and partner_id not in partner_ids:
        return Refusal("partner", _("This partner does not accept this reward."))
    return None


def limit_refusal(reward: Reward, *, used: int) -> Refusal | None:
    """The member already has ``used`` units of ``reward`` in its limit period: refused once that is the limit."""
    if reward.limit_per_member is None or used < reward.limit_per_member:
        return None
    words = limit_words(reward.limit_per_member, reward.limit_period)
    return Refusal("limit", _("You have redeemed this reward %(limit)s: the most it allows.") % {"limit": words})


def limit_words(limit: int, period: str) -> str:
    """A per-member limit in words: "Twice a month" reads "2 times a month"."""
    texts = {
        LimitPeriod.DAY: lambda: ngettext("%(limit)s time a day", "%(limit)s times a day", limit),
        LimitPeriod.WEEK: lambda: ngettext("%(limit)s time a week", "%(limit)s times a week", limit),
        LimitPeriod.MONTH: lambda: ngettext("%(limit)s time a month", "%(limit)s times a month", limit),
        LimitPeriod.YEAR: lambda: ngettext("%(limit)s time a year", "%(limit)s times a year", limit),
    }
    text = texts.get(period, lambda: ngettext("%(limit)s time in all", "%(limit)s times in all", limit))()
    return text % {"limit": limit}


def limit_period_start(period: str, now: datetime) -> datetime | None:
    """The moment the member's limit period began (program time); ``None`` for a limit in all."""
    day = program_date(now)
    if period == LimitPeriod.DAY:
        start = day
    elif period == LimitPeriod.WEEK:
        start = day - timedelta(days=day.weekday())
    elif period == LimitPeriod.MONTH:
        start = day.replace(day=1)
    elif period == LimitPeriod.YEAR:
        start = day.replace(month=1, day=1)
    else:
        return None
    return program_day_start(start)


def voucher_expiry(reward: Reward, issued_at: datetime) -> datetime | None:
    """When a voucher issued at ``issued_at`` expires: after ``validity_days``, at the end of ``valid_until`` (program
    time), the sooner of the two; ``None`` if the reward sets neither."""
    ends = []
    if reward.validity_days:
        ends.append(issued_at + timedelta(days=reward.validity_days))
    if reward.valid_until:
        ends.append(program_day_start(reward.valid_until + timedelta(days=1)))
    return min(ends) if ends else None
