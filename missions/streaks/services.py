"""The only code that writes streaks and the members' purchase counts (see models.py)."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from loyalty.clock import program_date
from loyalty.kept import forget, kept
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
    return kept(POLICY_CACHE_KEY, _policy_load, POLICY_CACHE_SECONDS)


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
        forget(POLICY_CACHE_KEY)
    return policy


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


_ACTIVITY_FIELDS = ["purchases", "streak_unit", "streak_current", "streak_longest", "streak_last", "updated_at"]


def _activity_upsert(rows) -> None:
    """The rows in one statement, new or not (PostgreSQL): ``bulk_update``'s ``CASE`` per column costs seconds
    a batch of the import, in Python and in the database."""
    table = MemberActivity._meta.db_table
    columns = ["member_id", *_ACTIVITY_FIELDS]
    rows = sorted(rows, key=lambda row: row.member_id)
    arrays = [[getattr(row, column) for row in rows] for column in columns]
    types = [MemberActivity._meta.get_field(column).cast_db_type(connection) for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)})"
            f" SELECT * FROM unnest({', '.join(f'%s::{kind}[]' for kind in types)})"
            f" ON CONFLICT (member_id) DO UPDATE SET"
            f" {', '.join(f'{column} = excluded.{column}' for column in _ACTIVITY_FIELDS)}",
            arrays,
        )


def activity_record_many(*, purchases: list[tuple[int, datetime]], now: datetime) -> None:
    """``activity_record`` for a batch of purchases (the CSV import's path: member id and ``occurred_at`` each),
    set-based: the members' rows read once, written in one statement (two elsewhere than on PostgreSQL), and
    the purchase milestones the batch crosses awarded with one ``INSERT ... SELECT`` per badge. The caller holds
    the members' account locks."""
    from missions.badges.milestones import milestones_get, purchase_milestones_award_many

    if not purchases:
        return
    policy = streak_policy_get()
    rows = {row.pk: row for row in MemberActivity.objects.filter(pk__in={member_id for member_id, _at in purchases})}
    before = {member_id: row.purchases for member_id, row in rows.items()}
    created = {}
    for member_id, at in sorted(purchases, key=lambda purchase: purchase[1]):
        row = rows.get(member_id)
        if row is None:
            row = rows[member_id] = created[member_id] = MemberActivity(member_id=member_id, streak_unit=policy.unit)
        streak = runs.Streak(row.streak_current, row.streak_longest, row.streak_last)
        if row.streak_unit != policy.unit:
            streak = runs.Streak()
        after = runs.streak_extend(streak, runs.period_of(program_date(at), policy.unit), grace=policy.grace)
        row.streak_unit, row.streak_current, row.streak_longest, row.streak_last = (
            policy.unit,
            after.current,
            after.longest,
            after.last,
        )
        row.purchases += 1
        row.updated_at = now
    if connection.vendor == "postgresql":
        _activity_upsert(rows.values())
    else:
        MemberActivity.objects.bulk_create(created.values())
        changed = [row for member_id, row in rows.items() if member_id not in created]
        MemberActivity.objects.bulk_update(changed, _ACTIVITY_FIELDS)
    if milestones_get().purchases:
        counts = {member_id: (before.get(member_id, 0), row.purchases) for member_id, row in rows.items()}
        purchase_milestones_award_many(counts=counts, now=now)
