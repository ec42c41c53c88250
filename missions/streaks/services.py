"""The only code that writes streaks and the members' purchase counts (see models.py)."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction

from loyalty.clock import program_date
from missions import runs

from .models import MemberActivity, StreakPolicy

logger = logging.getLogger(__name__)

POLICY_CACHE_KEY = "streaks:policy:v1"
POLICY_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Policy:
    unit: str = runs.DAY
    grace: int = 0


def streak_policy_get() -> Policy:
    """The streak policy (its defaults when the row is missing), from the cache; the database when the cache
    does not answer."""
    try:
        found = cache.get(POLICY_CACHE_KEY)
    except Exception:  # a cache down must not fail a purchase
        logger.warning("streaks: the cache did not answer; the policy read from the database", exc_info=True)
        return _policy_load()
    if found is None:
        found = _policy_load()
        try:
            cache.set(POLICY_CACHE_KEY, found, POLICY_CACHE_SECONDS)
        except Exception:
            logger.warning("streaks: the cache did not answer; the policy not kept", exc_info=True)
    return found


def _policy_load() -> Policy:
    row = StreakPolicy.objects.filter(pk=1).values("unit", "grace").first()
    return Policy(**row) if row else Policy()


def streak_policy_set(*, unit: str, grace: int, actor=None) -> StreakPolicy:
    """Set the one streak policy (its history names ``actor``); the cached copy is forgotten once committed.
    Raises Django's ``ValidationError`` for a unit or grace out of range."""
    policy = StreakPolicy.objects.filter(pk=1).first() or StreakPolicy(pk=1)
    policy.unit, policy.grace = unit, grace
    policy.full_clean()
    policy._history_user = actor
    with transaction.atomic():
        policy.save()
        transaction.on_commit(_policy_forget)
    return policy


def _policy_forget() -> None:
    try:
        cache.delete(POLICY_CACHE_KEY)
    except Exception:
        logger.warning("streaks: the cache did not answer; the policy expires by itself", exc_info=True)


def activity_record(*, member, at: datetime, purchase: bool, now: datetime) -> MemberActivity:
    """Count the member's activity at ``at`` (a purchase when ``purchase``, else an accepted event): extend the
    streak by ``runs.streak_extend`` on the program's day of ``at`` and, for a purchase, add one to the count
    and award the purchase milestones it reaches. In the caller's transaction, which holds the member's account
    lock (so two purchases count one after the other). Two queries (read, write); none written when an event
    changes nothing (the same period again)."""
    from missions.badges.milestones import purchase_milestones_award

    policy = streak_policy_get()
    period = runs.period_of(program_date(at), policy.unit)
    row = MemberActivity.objects.filter(pk=member.pk).first()
    created = row is None
    if created:
        row = MemberActivity(member_id=member.pk, streak_unit=policy.unit)
    before = runs.Streak(row.streak_current, row.streak_longest, row.streak_last)
    if row.streak_unit != policy.unit:
        before = runs.Streak()  # another unit: the streak starts again
    after = runs.streak_extend(before, period, grace=policy.grace)
    unchanged = (after.current, after.longest, after.last, policy.unit) == (
        row.streak_current,
        row.streak_longest,
        row.streak_last,
        row.streak_unit,
    )
    if unchanged and not purchase and not created:
        return row
    row.purchases += int(purchase)
    row.streak_unit, row.streak_current, row.streak_longest, row.streak_last = (
        policy.unit,
        after.current,
        after.longest,
        after.last,
    )
    row.updated_at = now
    if created:
        row.save(force_insert=True)
    else:
        MemberActivity.objects.filter(pk=member.pk).update(
            purchases=row.purchases,
            streak_unit=row.streak_unit,
            streak_current=row.streak_current,
            streak_longest=row.streak_longest,
            streak_last=row.streak_last,
            updated_at=now,
        )
    if purchase:
        purchase_milestones_award(member=member, purchases=row.purchases, now=now)
    return row
