"""Milestone badges: awarded in the transaction of what reaches them, and by a daily task.

- **Purchases** (the first, or N): ``purchase_milestones_award`` with the member's new count
  of purchases, which ``missions.streaks.services.activity_record`` keeps (one row per member,
  written anyway for the streak), so a purchase that reaches no milestone costs no query here;
  ``purchase_milestones_award_many`` for a batch of the CSV import.
- **A tier**: ``tier_milestones_award`` from ``tiers.services.tier_change_events``, which every
  ``TierChange`` goes through (an upgrade at once, the recalculation, a merge, a tier set by
  hand): reaching the badge's tier or a higher-ranked one. One ``INSERT ... SELECT`` per tier
  badge whatever the number of changes.
- **Years as a member**, and everyone who reached a milestone before its badge existed (or was
  active): ``milestones_award_all``, the daily task, set-based in batches of members.

The active milestone badges are read once and kept in the cache (``milestones_get``; the
badge's admin forgets them on save, and they expire after ``CACHE_SECONDS`` anyway); a cache
that does not answer falls back to the database, never failing a purchase. Only active
members earn a milestone. A milestone badge, once earned, stays (a returned purchase does
not take back *first purchase*).
"""

import calendar
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, Value

from loyalty.clock import program_date, program_day_start
from loyalty.kept import forget, kept
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType

from .models import Badge, MemberBadge, Milestone

logger = logging.getLogger(__name__)

CACHE_KEY = "badges:milestones:v1"
CACHE_SECONDS = 300
BATCH_SIZE = 2000


@dataclass(frozen=True)
class Milestones:
    purchases: dict[int, list[Badge]] = field(default_factory=dict)  # by the count that earns them
    tiers: list[Badge] = field(default_factory=list)
    years: list[Badge] = field(default_factory=list)


def _load() -> Milestones:
    found = Milestones()
    for badge in Badge.objects.filter(active=True).exclude(milestone=Milestone.NONE).order_by("pk"):
        if badge.milestone == Milestone.PURCHASES:
            found.purchases.setdefault(badge.milestone_count, []).append(badge)
        elif badge.milestone == Milestone.TIER:
            found.tiers.append(badge)
        else:
            found.years.append(badge)
    return found


def milestones_get() -> Milestones:
    """The active milestone badges, from the cache (the database when it is empty or does not answer)."""
    return kept(CACHE_KEY, _load, CACHE_SECONDS)


def milestones_forget() -> None:
    """Drop the cached milestones now and again once the caller's transaction commits."""
    forget(CACHE_KEY)


def purchase_milestones_award(*, member, purchases: int, now: datetime) -> list[MemberBadge]:
    """Award the purchase milestones the member's ``purchases``-th purchase reaches (in the caller's transaction,
    which holds the member's account lock). No query unless a badge is for exactly that count."""
    from .services import badge_award

    earned = []
    for badge in milestones_get().purchases.get(purchases, []):
        if award := badge_award(member=member, badge=badge, source=f"milestone:{Milestone.PURCHASES}", now=now):
            earned.append(award)
    return earned


def purchase_milestones_award_many(*, counts: dict[int, tuple[int, int]], now: datetime) -> list[int]:
    """The purchase milestones a batch of purchases crosses: ``counts`` maps each member id to its count of
    purchases before and after the batch. One ``INSERT ... SELECT`` per badge crossed by someone."""
    from members.models import Member, MemberStatus

    ids = []
    for count, badges in milestones_get().purchases.items():
        reached = [member_id for member_id, (before, after) in counts.items() if before < count <= after]
        if not reached:
            continue
        for badge in badges:
            members = Member.objects.filter(pk__in=reached, status=MemberStatus.ACTIVE, merged_into=None)
            ids += _award_set(badge=badge, rows=members, member="pk", at=Value(now))
    return ids


def tier_milestones_award(*, changes: QuerySet) -> list[int]:
    """Award the tier badges the ``TierChange`` rows reach, set-based, dated by each change. No query when no
    tier badge is active."""
    from members.models import MemberStatus
    from members.tiers.models import Tier

    ids = []
    for badge in milestones_get().tiers:
        rank = Tier.objects.filter(pk=badge.milestone_tier_id).values("rank")
        rows = changes.filter(
            to_tier__rank__gte=Subquery(rank), member__status=MemberStatus.ACTIVE, member__merged_into=None
        ).order_by()
        ids += _award_set(badge=badge, rows=rows, member="member_id", at=F("created_at"))
    return ids


def milestones_award_all(*, now: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Award every active milestone badge to the active members who reach it and do not hold it: years as a
    member on the program's day of ``now``, and the purchase and tier milestones reached before their badge
    existed. Batches of member ids, each its own transaction; safe to run twice. Returns the badges awarded."""
    from members.models import Member, MemberStatus
    from members.tiers.models import Tier

    today = program_date(now)
    found = milestones_get()
    wanted = []
    for count, badges in found.purchases.items():
        wanted += [(badge, {"activity__purchases__gte": count}) for badge in badges]
    for badge in found.tiers:
        rank = Tier.objects.filter(pk=badge.milestone_tier_id).values("rank")
        wanted.append((badge, {"tier_state__tier__rank__gte": Subquery(rank)}))
    for badge in found.years:
        joined_by = program_day_start(joined_by_day(today, badge.milestone_count) + timedelta(days=1))
        wanted.append((badge, {"joined_at__lt": joined_by}))
    awarded = 0
    for badge, reached in wanted:
        held = MemberBadge.objects.filter(member_id=OuterRef("pk"), badge=badge)
        candidates = (
            Member.objects.filter(status=MemberStatus.ACTIVE, merged_into=None, **reached)
            .exclude(Exists(held))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        last = 0
        while ids := list(candidates.filter(pk__gt=last)[:batch_size]):
            with transaction.atomic():
                awarded += len(
                    _award_set(badge=badge, rows=Member.objects.filter(pk__in=ids), member="pk", at=Value(now))
                )
            last = ids[-1]
    return awarded


def joined_by_day(today: date, years: int) -> date:
    """The last day a member may have joined to be ``years`` years a member on ``today``: one who joined on
    29 February has the anniversary on 28 February in other years, as the birthday."""
    year = today.year - years
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year) and calendar.isleap(year):
        return date(year, 2, 29)
    if (today.month, today.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return today.replace(year=year)


def _award_set(*, badge: Badge, rows: QuerySet, member: str, at) -> list[int]:
    """Insert ``badge`` for each row's member (``member``: its member id column; ``at``: when), skipping those
    who hold it, and write their ``badge.earned`` events; in the caller's transaction. Returns the new ids."""
    source = f"milestone:{badge.milestone}"
    sql, params = rows.annotate(aw_member=F(member), aw_at=at).values("aw_member", "aw_at").query.sql_with_params()
    table = MemberBadge._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (member_id, badge_id, earned_at, source)"
            f" SELECT DISTINCT rows.aw_member, %s, rows.aw_at, %s FROM ({sql}) AS rows WHERE true"
            " ON CONFLICT (member_id, badge_id) DO NOTHING RETURNING id",
            [badge.pk, source, *params],
        )
        ids = [row[0] for row in cursor.fetchall()]
    if ids:
        outbox.events_record_from(
            type=EventType.BADGE_EARNED,
            rows=MemberBadge.objects.filter(pk__in=ids),
            member="member_id",
            occurred_at="earned_at",
            data={
                "member": "member__member_number",
                "badge": "badge__code",
                "name": "badge__name",
                "source": "source",
            },
        )
    return ids
