"""Tier recalculation over 1,000,000 members and 20,000,000 entries against a per-member ORM loop.

The seed is the ledger's (``seed.seed``: 20 earn entries and lots per member, one a day),
plus the qualifying days those entries wrote (one ``GROUP BY`` of the same entries), four
tiers, and starting tiers that give the run every kind of work: a third of the members
hold Platinum from long ago (downgrades after grace), a third hold no tier (created), a
third hold Bronze recently (upgrades and refreshes), one in a hundred a tier set by hand
that ended yesterday.
"""

import time
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from loyalty.clock import program_date
from loyalty.ledger import lock_objects
from members.tiers import rules
from members.tiers.models import MemberTier, QualifyingDay, Tier, TierChange, TierChangeReason, TierPolicy
from members.tiers.services import tier_recalculate_all

from . import db, seed

TIERS = (("Bronze", 600), ("Silver", 750), ("Gold", 850), ("Platinum", 950))


def seed_members(*, members: int, entries_per_member: int, now: datetime, reuse_ledger: bool = False) -> dict:
    """Seed the ledger, its entries' qualifying days, the tiers and the starting tiers; return counts and times."""
    started = time.perf_counter()
    entries = members * entries_per_member
    if reuse_ledger and ledger_is_seeded(members=members, entries_per_member=entries_per_member):
        ledger_seconds = None  # the ledger of an earlier run, as it was seeded (tier runs never change it)
    else:
        # 20 days of earning ending 351 days ago: the last 14 are still in a 12-month window.
        seed.seed(
            accounts=members,
            lots_per_account=entries_per_member,
            now=now,
            first_created=now - timedelta(days=370),
            expires_on=None,
        )
        ledger_seconds = round(time.perf_counter() - started, 1)
    db.execute("TRUNCATE tiers_tierchange, tiers_membertier, tiers_qualifyingday RESTART IDENTITY")
    db.execute("DELETE FROM tiers_tier")
    db.execute(
        "UPDATE tiers_tierpolicy SET basis = 'rolling_points', window_months = 12, grace_months = 12 WHERE id = 1"
    )
    for rank, (name, threshold) in enumerate(TIERS, start=1):
        Tier.objects.create(name=name, rank=rank, threshold=threshold)
    with seed.loading(("tiers_qualifyingday", "tiers_membertier")):
        db.execute("SET work_mem = '256MB'")
        db.execute(
            "INSERT INTO tiers_qualifyingday (member_id, day, points, spend_amount)"
            " SELECT account.member_id, (entry.created_at AT TIME ZONE %s)::date, sum(entry.amount), 0"
            " FROM ledger_entry entry JOIN ledger_account account ON account.id = entry.account_id"
            " WHERE entry.kind IN ('earn', 'bonus') AND entry.id <= %s GROUP BY 1, 2"
            " ORDER BY 1, 2",  # the unique (member, day) index stays: fill it in its order
            [settings.TIME_ZONE, entries],  # the seed's entries only: the same work whatever the dashboard added
        )
        seed_member_tiers(now)
        db.execute("RESET work_mem")
    for table in ("tiers_qualifyingday", "tiers_membertier", "tiers_tierchange", "tiers_tier"):
        db.execute(f"VACUUM (ANALYZE) {table}")
    return {
        "members": members,
        "entries": int(db.scalar("SELECT count(*) FROM ledger_entry")),
        "qualifying_days": int(db.scalar("SELECT count(*) FROM tiers_qualifyingday")),
        "member_tiers": int(db.scalar("SELECT count(*) FROM tiers_membertier")),
        "ledger_seed_seconds": ledger_seconds,
        "seconds": round(time.perf_counter() - started, 1),
    }


def ledger_is_seeded(*, members: int, entries_per_member: int) -> bool:
    """Whether the ledger holds this seed's earn entries (ids 1 to members x entries_per_member, ``seed.seed``).

    The dashboard phase writes its recent activity after them (``bench/dashboard.py``); it stays.
    """
    entries = members * entries_per_member
    seeded = db.scalar("SELECT count(*) FROM ledger_entry WHERE id <= %s AND kind = 'earn'", [entries])
    return seeded == entries and db.scalar("SELECT count(*) FROM ledger_account WHERE id <= %s", [members]) == members


def seed_member_tiers(now: datetime) -> None:
    """The starting tiers (see the module's docstring)."""
    today = program_date(now)
    tier_ids = dict(Tier.objects.values_list("name", "pk"))
    db.execute(
        "INSERT INTO tiers_membertier (member_id, tier_id, qualified_on, manual_until, manual_reason, updated_at)"
        " SELECT id,"
        "  CASE WHEN id %% 100 = 0 THEN %(gold)s WHEN id %% 3 = 0 THEN %(platinum)s ELSE %(bronze)s END,"
        "  CASE WHEN id %% 100 = 0 THEN NULL WHEN id %% 3 = 0 THEN %(long_ago)s ELSE %(recently)s END,"
        "  CASE WHEN id %% 100 = 0 THEN %(yesterday)s END,"
        "  CASE WHEN id %% 100 = 0 THEN 'Status match' ELSE '' END, %(now)s"
        " FROM members_member WHERE id %% 3 <> 1 OR id %% 100 = 0",
        {
            "gold": tier_ids["Gold"],
            "platinum": tier_ids["Platinum"],
            "bronze": tier_ids["Bronze"],
            "long_ago": today - timedelta(days=400),
            "recently": today - timedelta(days=30),
            "yesterday": today - timedelta(days=1),
            "now": now,
        },
    )


def naive_loop(member_ids: list[int], now: datetime) -> dict:
    """Recalculate member by member with the ORM, each in its own transaction with its account locked."""
    policy = TierPolicy.objects.get(pk=1)
    tiers = list(Tier.objects.order_by("rank"))
    today = program_date(now)
    start_day = rules.window_start(today, policy)
    started = time.perf_counter()
    changes = 0
    for member_id in member_ids:
        with transaction.atomic():
            lock_objects.accounts_for_update(
                [lock_objects.Account.objects.values_list("pk", flat=True).get(member_id=member_id)]
            )
            value = (
                QualifyingDay.objects.filter(member_id=member_id, day__gte=start_day).aggregate(total=Sum("points"))[
                    "total"
                ]
                or 0
            )
            qualified = rules.tier_for(tiers, value)
            state = MemberTier.objects.select_related("tier").filter(member_id=member_id).first()
            change = _naive_decision(state, qualified, today, policy)
            if change is None:
                continue
            tier, qualified_on, clear_manual, reason = change
            old_tier, new = (state.tier, False) if state else (None, True)
            state = state or MemberTier(member_id=member_id)
            state.tier, state.qualified_on, state.updated_at = tier, qualified_on, now
            if clear_manual:
                state.manual_until, state.manual_reason = None, ""
            state.save(force_insert=new)
            if reason is not None:
                TierChange.objects.create(
                    member_id=member_id, from_tier=old_tier, to_tier=tier, reason=reason, created_at=now
                )
                changes += 1
    seconds = time.perf_counter() - started
    return {
        "members": len(member_ids),
        "changes": changes,
        "seconds": round(seconds, 2),
        "ms_per_member": seconds * 1000 / len(member_ids),
    }


def _naive_decision(state, qualified, today: date, policy):
    """``(tier, qualified_on, clear_manual, reason or None)`` when something changes, else ``None``: the
    rules of ``members/tiers/models.py`` for one member, as a loop would apply them."""
    current = state.tier if state else None
    current_rank, qualified_rank = (current.rank if current else -1), (qualified.rank if qualified else -1)
    manual_until = state.manual_until if state else None
    grace_over = state is None or state.qualified_on is None or today > rules.grace_end(state.qualified_on, policy)
    if manual_until is not None and manual_until < today and (qualified_rank >= current_rank or grace_over):
        tier, reason, clear = qualified, TierChangeReason.MANUAL_ENDED, True
    elif manual_until is not None and manual_until < today:  # ended, and the grace of the tier still holds
        tier, reason, clear = current, None, True
    elif qualified_rank > current_rank:
        tier, reason, clear = qualified, TierChangeReason.RECALCULATED, True
    elif qualified_rank < current_rank and manual_until is None and grace_over:
        tier, reason, clear = qualified, TierChangeReason.GRACE_ENDED, False
    else:
        tier, reason, clear = current, None, False
    qualifies_today = tier == qualified and (state is None or state.qualified_on is None or state.qualified_on < today)
    qualified_on = None if tier is None else (today if qualifies_today else state.qualified_on)
    if tier == current:
        reason = None
        if state is None or (qualified_on == state.qualified_on and not clear):
            return None
    return tier, qualified_on, clear, reason


def sample_state(member_ids: list[int]) -> list[tuple]:
    return list(
        MemberTier.objects.filter(member_id__in=member_ids)
        .order_by("member_id")
        .values_list("member_id", "tier_id", "qualified_on", "manual_until")
    )


def recalculate(now: datetime) -> dict:
    started = time.perf_counter()
    result = tier_recalculate_all(now=now)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "batches": result.batches,
        "changes": result.changes,
        "updated": result.updated,
        "created": result.created,
        "members": int(db.scalar("SELECT count(*) FROM members_member")),
        "by_tier": dict(
            db.rows(
                "SELECT coalesce(t.name, '(none)'), count(*) FROM tiers_membertier mt"
                " LEFT JOIN tiers_tier t ON t.id = mt.tier_id GROUP BY 1 ORDER BY 1"
            )
        ),
        "by_reason": dict(db.rows("SELECT reason, count(*) FROM tiers_tierchange GROUP BY 1 ORDER BY 1")),
    }
