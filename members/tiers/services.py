"""The tiers engine: qualifying activity, the upgrade at once, the daily recalculation, a merge.

What counts towards tiers is written by ``qualifying_record`` in the transaction of the
ledger entry (or, later, the purchase) that earned it, with the member's account locked;
the same call upgrades the member at once when the new total reaches a higher tier. Only
``tier_recalculate_all`` downgrades (after the grace period) and ends tiers set by hand.
The rules are ``rules.py``'s; the SQL here applies them to many members at once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from loyalty.clock import add_months, program_date
from loyalty.exceptions import MemberClosed, PermissionDenied, ValidationError
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from members.models import MemberStatus

from . import rules
from .models import MemberTier, QualifyingDay, Tier, TierChange, TierChangeReason, TierPolicy


@dataclass(frozen=True)
class RecalculationResult:
    batches: int = 0
    changes: int = 0  # TierChange rows written
    updated: int = 0  # MemberTier rows updated (a change, a refreshed qualified_on, a manual tier ended)
    created: int = 0  # MemberTier rows created

    def __add__(self, other: "RecalculationResult") -> "RecalculationResult":
        return RecalculationResult(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, int, int, int]:
        return (self.batches, self.changes, self.updated, self.created)


# Qualifying activity and the upgrade at once.

_ADD_SQL = """
INSERT INTO tiers_qualifyingday (member_id, day, points, spend_amount) VALUES (%s, %s, %s, %s)
ON CONFLICT (member_id, day) DO UPDATE
SET points = tiers_qualifyingday.points + excluded.points,
    spend_amount = tiers_qualifyingday.spend_amount + excluded.spend_amount
"""
# A take-back never takes a day below zero: activity from before the day was recorded
# (points earned before tiers existed) has nothing to take back from. The audit reports it.
_TAKE_BACK_SQL = """
UPDATE tiers_qualifyingday
SET points = CASE WHEN points + %s > 0 THEN points + %s ELSE 0 END,
    spend_amount = CASE WHEN spend_amount + %s > 0 THEN spend_amount + %s ELSE 0 END
WHERE member_id = %s AND day = %s
"""


def qualifying_record(
    *, member_id: int, day: date, points: int = 0, spend_amount: Decimal = Decimal(0), now: datetime
) -> None:
    """Add qualifying ``points`` and ``spend_amount`` to the member's program ``day`` (negative: take them back).

    Then, when something was added, upgrade the member at once if its basis now reaches a
    higher tier (``TierChange`` reason ``qualified``), or refresh ``qualified_on`` when it
    still reaches its tier. Runs in the caller's transaction, which must hold the member's
    account lock (the ledger's verbs do). Not idempotent: the ledger's replays never call it.
    """
    if points == 0 and spend_amount == 0:
        return
    if (points < 0 or spend_amount < 0) and (points > 0 or spend_amount > 0):
        raise ValueError("Qualifying points and spend are added together or taken back together.")
    spend = connection.ops.adapt_decimalfield_value(Decimal(spend_amount), 14, 2)
    day_value = connection.ops.adapt_datefield_value(day)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if points >= 0 and spend_amount >= 0:
            cursor.execute(_ADD_SQL, [member_id, day_value, points, spend])
            _upgrade_at_once(member_id, today=program_date(now), now=now)
        else:
            cursor.execute(_TAKE_BACK_SQL, [points, points, spend, spend, member_id, day_value])


_ADD_MANY_SQL = """
INSERT INTO tiers_qualifyingday (member_id, day, points, spend_amount)
SELECT member_id, %s::date, points, spend_amount
FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS added(member_id, points, spend_amount)
ON CONFLICT (member_id, day) DO UPDATE
SET points = tiers_qualifyingday.points + excluded.points,
    spend_amount = tiers_qualifyingday.spend_amount + excluded.spend_amount
"""


def qualifying_record_many(*, day: date, credits: list[tuple[int, int, Decimal]], now: datetime) -> None:
    """``qualifying_record`` for many credits of one program ``day``: ``(member_id, points, spend_amount)``
    each, in the order they were credited (added amounts only).

    Writes what one call per credit would: the days summed per member, then each member's
    upgrades at once in order (a member who passes two tiers in the batch gets both
    ``TierChange`` rows) and its refreshed ``qualified_on``. A few statements whatever the
    number of members. Runs in the caller's transaction, which holds the members' account locks.
    """
    credits = [(member_id, points, Decimal(spend)) for member_id, points, spend in credits if points or spend]
    if not credits:
        return
    if any(points < 0 or spend < 0 for _member, points, spend in credits):
        raise ValueError("qualifying_record_many only adds.")
    totals: dict[int, list] = {}
    for member_id, points, spend in credits:
        total = totals.setdefault(member_id, [0, Decimal(0)])
        total[0] += points
        total[1] += spend
    ops = connection.ops
    members = sorted(totals)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _ADD_MANY_SQL,
                [day, members, [totals[m][0] for m in members], [totals[m][1] for m in members]],
            )
        else:
            cursor.executemany(
                _ADD_SQL,
                [
                    [
                        m,
                        ops.adapt_datefield_value(day),
                        totals[m][0],
                        ops.adapt_decimalfield_value(totals[m][1], 14, 2),
                    ]
                    for m in members
                ],
            )
        _upgrade_many(credits, totals, today=program_date(now), now=now)


def _upgrade_many(credits: list, totals: dict, *, today: date, now: datetime) -> None:
    """``_upgrade_at_once`` after each of ``credits`` in turn, read and written set-based."""
    policy, tiers = _policy_and_tiers()
    if not tiers:
        return
    spend = rules.uses_spend(policy)
    start = rules.window_start(today, policy)
    members = sorted(totals)
    values = dict.fromkeys(members, Decimal(0))
    days = QualifyingDay.objects.filter(member_id__in=members)
    if start is not None:
        days = days.filter(day__gte=start)
    for member_id, value in (
        days.values("member_id").annotate(value=Sum(_basis_column(policy))).values_list("member_id", "value")
    ):
        values[member_id] = Decimal(str(value))
    states = {state.pk: state for state in MemberTier.objects.filter(member_id__in=members)}
    ranks = {tier.pk: tier.rank for tier in tiers}
    # The value before the batch: each credit then adds its own, as one call per credit would see.
    for member_id in members:
        values[member_id] -= totals[member_id][1] if spend else totals[member_id][0]
    changes, created, updated = [], {}, {}
    for member_id, points, amount in credits:
        values[member_id] += amount if spend else points
        qualified = rules.tier_for(tiers, values[member_id])
        if qualified is None:
            continue
        state = states.get(member_id)
        current_rank = ranks.get(state.tier_id if state else None, -1)
        if qualified.rank > current_rank:
            if state is None:
                state = states[member_id] = created[member_id] = MemberTier(member_id=member_id)
            elif member_id not in created:
                updated[member_id] = state
            changes.append(
                TierChange(
                    member_id=member_id,
                    from_tier_id=state.tier_id,
                    to_tier_id=qualified.pk,
                    reason=TierChangeReason.QUALIFIED,
                    created_at=now,
                )
            )
            state.tier_id, state.qualified_on, state.manual_until, state.manual_reason = qualified.pk, today, None, ""
            state.updated_at = now
        elif qualified.rank == current_rank and (state.qualified_on is None or state.qualified_on < today):
            state.qualified_on, state.updated_at = today, now
            if member_id not in created:
                updated[member_id] = state
    if created:
        MemberTier.objects.bulk_create(created.values())
    if updated:
        _member_tiers_update(list(updated.values()), now)
    if changes:
        TierChange.objects.bulk_create(changes)
        tier_change_events(changes=TierChange.objects.filter(pk__in=[change.pk for change in changes]))


def _member_tiers_update(states: list[MemberTier], now: datetime) -> None:
    """Write the tier rows of many members in one statement (``bulk_update``'s CASE grows with each row)."""
    if connection.vendor != "postgresql":
        fields = ["tier_id", "qualified_on", "manual_until", "manual_reason", "updated_at"]
        MemberTier.objects.bulk_update(states, fields)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tiers_membertier AS mt SET tier_id = v.tier_id, qualified_on = v.qualified_on,"
            " manual_until = v.manual_until, manual_reason = v.manual_reason, updated_at = %s"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::date[], %s::varchar[])"
            " AS v(member_id, tier_id, qualified_on, manual_until, manual_reason) WHERE mt.member_id = v.member_id",
            [
                now,
                [state.member_id for state in states],
                [state.tier_id for state in states],
                [state.qualified_on for state in states],
                [state.manual_until for state in states],
                [state.manual_reason for state in states],
            ],
        )


def _policy_and_tiers() -> tuple[TierPolicy, list[Tier]]:
    """The policy (its defaults if its row is missing) and the tiers (id, rank, threshold), in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, t.rank, t.threshold, p.basis, p.window_months, p.grace_months"
            " FROM tiers_tier t LEFT JOIN tiers_tierpolicy p ON p.id = 1"
        )
        rows = cursor.fetchall()
    policy = TierPolicy(pk=1)
    if rows and rows[0][3] is not None:
        policy.basis, policy.window_months, policy.grace_months = rows[0][3:]
    tiers = [Tier(pk=tier_id, rank=rank, threshold=Decimal(str(threshold))) for tier_id, rank, threshold, *_p in rows]
    return policy, tiers


def _basis_column(policy: TierPolicy) -> str:
    return "spend_amount" if rules.uses_spend(policy) else "points"


def _upgrade_at_once(member_id: int, *, today: date, now: datetime) -> None:
    """Upgrade a locked member whose basis reaches a higher tier; refresh ``qualified_on`` if it reaches its own.

    Four queries at most after the write: the tiers, the member's value and state, and
    one or two writes.
    """
    policy, tiers = _policy_and_tiers()
    if not tiers:
        return
    start = rules.window_start(today, policy)
    window = "" if start is None else " AND day >= %s"
    params = [member_id] + ([] if start is None else [connection.ops.adapt_datefield_value(start)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COALESCE(SUM({_basis_column(policy)}), 0) FROM tiers_qualifyingday"
            f" WHERE member_id = %s{window}), mt.member_id, mt.tier_id, mt.qualified_on"
            " FROM (SELECT 1 AS one) AS one LEFT JOIN tiers_membertier mt ON mt.member_id = %s",
            [*params, member_id],
        )
        value, has_row, tier_id, qualified_on = cursor.fetchone()
    qualified = rules.tier_for(tiers, Decimal(str(value)))
    if qualified is None:
        return
    ranks = {tier.pk: tier.rank for tier in tiers}
    current_rank = ranks.get(tier_id, -1)
    if qualified.rank > current_rank:
        _tier_move(
            member_id,
            has_row=has_row is not None,
            from_tier_id=tier_id,
            to_tier_id=qualified.pk,
            today=today,
            now=now,
            reason=TierChangeReason.QUALIFIED,
        )
    elif qualified.rank == current_rank and (qualified_on is None or _as_date(qualified_on) < today):
        MemberTier.objects.filter(pk=member_id).update(qualified_on=today, updated_at=now)


def _tier_move(
    member_id: int,
    *,
    has_row: bool,
    from_tier_id: int | None,
    to_tier_id: int,
    today: date,
    now: datetime,
    reason: str,
) -> None:
    """Give a member a tier it qualifies for today (a tier set by hand is superseded) and record the change."""
    values = {
        "tier_id": to_tier_id,
        "qualified_on": today,
        "manual_until": None,
        "manual_reason": "",
        "updated_at": now,
    }
    if has_row:
        MemberTier.objects.filter(pk=member_id).update(**values)
    else:
        MemberTier.objects.create(member_id=member_id, **values)
    change = TierChange.objects.create(
        member_id=member_id, from_tier_id=from_tier_id, to_tier_id=to_tier_id, reason=reason, created_at=now
    )
    tier_change_events(changes=TierChange.objects.filter(pk=change.pk))


def _as_date(value) -> date | None:
    """A date column read by a raw query (SQLite returns text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


# The daily recalculation.

_PLAN_TABLE_SQL = """
CREATE TEMPORARY TABLE IF NOT EXISTS tiers_recalculation_plan (
    member_id bigint PRIMARY KEY,
    has_row boolean NOT NULL,
    from_tier bigint,
    to_tier bigint,
    reason varchar(16),
    qualified_on date,
    clear_manual boolean NOT NULL
){on_commit}
"""

# One row per member of the batch whose tier state changes: ``state`` is what each member
# holds and qualifies for, ``decided`` applies the rules (models.py's docstring) to it.
_PLAN_SQL = """
INSERT INTO tiers_recalculation_plan (member_id, has_row, from_tier, to_tier, reason, qualified_on, clear_manual)
WITH value AS (
    SELECT member_id, SUM({column}) AS value
    FROM tiers_qualifyingday
    WHERE member_id BETWEEN %(first)s AND %(last)s{window}
    GROUP BY member_id
), state AS (
    SELECT m.id AS member_id,
           mt.member_id IS NOT NULL AS has_row,
           mt.tier_id AS cur_tier,
           COALESCE(cur.rank, -1) AS cur_rank,
           mt.qualified_on,
           mt.manual_until,
           COALESCE(v.value, 0) AS value
    FROM members_member m
    LEFT JOIN value v ON v.member_id = m.id
    LEFT JOIN tiers_membertier mt ON mt.member_id = m.id AND mt.member_id BETWEEN %(first)s AND %(last)s
    LEFT JOIN tiers_tier cur ON cur.id = mt.tier_id
    WHERE m.id BETWEEN %(first)s AND %(last)s AND m.merged_into_id IS NULL
), ranked AS (
    SELECT s.*, {qualified_tier} AS q_tier, {qualified_rank} AS q_rank,
           s.manual_until IS NOT NULL AND s.manual_until < %(today)s AS manual_ended,
           s.manual_until IS NOT NULL AND s.manual_until >= %(today)s AS manual_holds
    FROM state s
), decided AS (
    SELECT r.*,
           CASE WHEN r.manual_ended AND (r.q_rank >= r.cur_rank OR r.qualified_on IS NULL
                                         OR r.qualified_on < %(cutoff)s) THEN 'manual_ended'
                WHEN r.q_rank > r.cur_rank THEN 'recalculated'
                WHEN r.q_rank < r.cur_rank AND NOT r.manual_holds
                     AND (r.qualified_on IS NULL OR r.qualified_on < %(cutoff)s) THEN 'grace_ended'
           END AS reason
    FROM ranked r
), moved AS (
    SELECT d.*, CASE WHEN d.reason IS NULL THEN d.cur_tier ELSE d.q_tier END AS to_tier
    FROM decided d
), planned AS (
    -- a member qualifies today for the tier it holds now: its grace starts again
    SELECT m.*,
           CASE WHEN m.to_tier IS NULL THEN NULL
                WHEN m.to_tier = m.q_tier AND (m.qualified_on IS NULL OR m.qualified_on < %(today)s) THEN %(today)s
                ELSE m.qualified_on
           END AS new_qualified_on,
           m.manual_ended OR m.q_rank > m.cur_rank AS clear_manual
    FROM moved m
)
SELECT member_id, has_row, cur_tier, to_tier, reason, new_qualified_on, clear_manual
FROM planned
WHERE (has_row AND (COALESCE(to_tier, 0) <> COALESCE(cur_tier, 0)
                    OR COALESCE(new_qualified_on, %(never)s) <> COALESCE(qualified_on, %(never)s)
                    OR clear_manual))
   OR (NOT has_row AND to_tier IS NOT NULL)
"""

_APPLY_SQL = (
    """
INSERT INTO tiers_tierchange (member_id, from_tier_id, to_tier_id, reason, note, actor_id, created_at)
SELECT member_id, from_tier, to_tier, reason, '', NULL, %(now)s
FROM tiers_recalculation_plan
WHERE COALESCE(from_tier, 0) <> COALESCE(to_tier, 0)
ORDER BY member_id
""",
    """
UPDATE tiers_membertier
SET tier_id = p.to_tier,
    qualified_on = p.qualified_on,
    manual_until = CASE WHEN p.clear_manual THEN NULL ELSE tiers_membertier.manual_until END,
    manual_reason = CASE WHEN p.clear_manual THEN '' ELSE tiers_membertier.manual_reason END,
    updated_at = %(now)s
FROM tiers_recalculation_plan p
WHERE tiers_membertier.member_id = p.member_id AND p.has_row
  AND tiers_membertier.member_id BETWEEN %(first)s AND %(last)s
""",
    """
INSERT INTO tiers_membertier (member_id, tier_id, qualified_on, manual_until, manual_reason, updated_at)
SELECT member_id, to_tier, qualified_on, NULL, '', %(now)s
FROM tiers_recalculation_plan
WHERE NOT has_row
ORDER BY member_id
""",
)


def tier_recalculate_all(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    after_batch: Callable[[int, int], None] | None = None,
) -> RecalculationResult:
    """Recompute every member's tier set-based: upgrades, refreshed ``qualified_on``, downgrades after
    the grace period (never below the tier qualified for), tiers set by hand that ended.

    In batches of member ids, each its own transaction holding the batch's accounts
    locked (so a credit's upgrade cannot interleave); every change is a ``TierChange``.
    Safe to run twice (the second run changes nothing) and to be stopped and run again.
    ``after_batch(first_id, last_id)`` is called inside each batch's transaction, after
    its writes (a failure there rolls that batch back).
    """
    from django.conf import settings

    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValueError("Give a time with its time zone.")
    batch_size = batch_size or settings.LOYALTY_TIER_BATCH_SIZE
    policy = TierPolicy.objects.filter(pk=1).first() or TierPolicy(pk=1)
    today = program_date(now)
    start = rules.window_start(today, policy)
    ops = connection.ops
    params = {
        "today": ops.adapt_datefield_value(today),
        "cutoff": ops.adapt_datefield_value(rules.grace_cutoff(today, policy)),
        "never": ops.adapt_datefield_value(date(1, 1, 1)),
        "now": ops.adapt_datetimefield_value(now),
        "window_start": None if start is None else ops.adapt_datefield_value(start),
    }
    window = "" if start is None else " AND day >= %(window_start)s"
    qualified_tier, qualified_rank = _qualified_cases(list(Tier.objects.all()), params)
    plan_sql = _PLAN_SQL.format(
        column=_basis_column(policy), window=window, qualified_tier=qualified_tier, qualified_rank=qualified_rank
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM members_member")
        first_id, last_id = cursor.fetchone()
    result = RecalculationResult()
    if first_id is None:
        return result
    for first in range(first_id, last_id + 1, batch_size):
        last = min(first + batch_size - 1, last_id)
        with transaction.atomic():
            result += _recalculate_batch(plan_sql, {**params, "first": first, "last": last})
            if after_batch is not None:
                after_batch(first, last)
    return result


def _qualified_cases(tiers: list[Tier], params: dict) -> tuple[str, str]:
    """SQL of the tier (id, rank) that ``s.value`` qualifies for: ``rules.tier_for`` at each threshold.

    The tier a value reaches is the one its highest threshold not above it reaches, so a
    CASE over the thresholds, highest first, answers like ``tier_for`` (no subquery per member).
    """
    if not tiers:
        return "NULL", "-1"
    tier_whens, rank_whens = [], []
    for band, threshold in enumerate(sorted({tier.threshold for tier in tiers}, reverse=True)):
        tier = rules.tier_for(tiers, threshold)
        params[f"band_{band}"] = connection.ops.adapt_decimalfield_value(threshold, 14, 2)
        tier_whens.append(f"WHEN s.value >= CAST(%(band_{band})s AS NUMERIC) THEN {int(tier.pk)}")
        rank_whens.append(f"WHEN s.value >= CAST(%(band_{band})s AS NUMERIC) THEN {int(tier.rank)}")
    return f"CASE {' '.join(tier_whens)} END", f"CASE {' '.join(rank_whens)} ELSE -1 END"


def _recalculate_batch(plan_sql: str, params: dict) -> RecalculationResult:
    ledger_locks.member_range_accounts_for_update(params["first"], params["last"])
    # The batch's members are locked: the changes after this id in their range are the batch's own.
    last_change = TierChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # PostgreSQL empties the plan at commit, so the DELETE finds nothing unless the run is
    # inside an outer transaction (its batches are savepoints then); SQLite has no such clause.
    on_commit = " ON COMMIT DELETE ROWS" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(_PLAN_TABLE_SQL.format(on_commit=on_commit))
        cursor.execute("DELETE FROM tiers_recalculation_plan")
        cursor.execute(plan_sql, params)
        counts = []
        for sql in _APPLY_SQL:
            cursor.execute(sql, params)
            counts.append(cursor.rowcount)
    if counts[0]:  # TierChange rows written
        tier_change_events(
            changes=TierChange.objects.filter(
                pk__gt=last_change, member_id__gte=params["first"], member_id__lte=params["last"]
            )
        )
    return RecalculationResult(1, *counts)


def tier_change_events(*, changes) -> list:
    """One ``tier.changed`` event per ``TierChange`` of the queryset, in one ``INSERT ... SELECT``, and the tier
    badges the changes reach (``missions.badges.milestones``: no query when no tier badge is active)."""
    from missions.badges.milestones import tier_milestones_award

    tier_milestones_award(changes=changes)
    return outbox.events_record_from(
        type=EventType.TIER_CHANGED,
        rows=changes,
        member="member_id",
        occurred_at="created_at",
        data={
            "member": "member__member_number",
            "from_tier": "from_tier__name",
            "to_tier": "to_tier__name",
            "reason": "reason",
            "change": "id",
        },
    )


# Merging two members.


def tier_member_merge(*, source, survivor, now: datetime | None = None) -> None:
    """Move ``source``'s qualifying days (summing days both have) and tier history onto ``survivor``.

    The survivor keeps the higher of the two tiers (``TierChange`` reason ``merged`` when
    it takes the source's, with its ``qualified_on`` and any tier set by hand), then is
    upgraded at once if the summed days reach a higher tier. The source holds no tier
    afterwards. Locks both accounts in id order; runs inside the caller's transaction.
    """
    now = now or timezone.now()
    if source.pk == survivor.pk:
        raise ValueError("A member cannot be merged into itself.")
    with transaction.atomic():
        ledger_locks.account_ids_for_update([source.account.pk, survivor.account.pk])
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tiers_qualifyingday (member_id, day, points, spend_amount)"
                " SELECT %s, day, points, spend_amount FROM tiers_qualifyingday WHERE member_id = %s"
                " ON CONFLICT (member_id, day) DO UPDATE"
                " SET points = tiers_qualifyingday.points + excluded.points,"
                " spend_amount = tiers_qualifyingday.spend_amount + excluded.spend_amount",
                [survivor.pk, source.pk],
            )
            cursor.execute("DELETE FROM tiers_qualifyingday WHERE member_id = %s", [source.pk])
        TierChange.objects.filter(member_id=source.pk).update(member_id=survivor.pk)
        states = {
            state.pk: state
            for state in MemberTier.objects.filter(pk__in=[source.pk, survivor.pk]).select_related("tier")
        }
        taken, kept = states.get(source.pk), states.get(survivor.pk)
        if taken is not None:
            taken.delete()
        if (
            taken is not None
            and taken.tier is not None
            and (kept is None or kept.tier is None or taken.tier.rank > kept.tier.rank)
        ):
            values = {
                "tier_id": taken.tier_id,
                "qualified_on": taken.qualified_on,
                "manual_until": taken.manual_until,
                "manual_reason": taken.manual_reason,
                "updated_at": now,
            }
            MemberTier.objects.update_or_create(member_id=survivor.pk, defaults=values)
            change = TierChange.objects.create(
                member_id=survivor.pk,
                from_tier_id=kept.tier_id if kept else None,
                to_tier_id=taken.tier_id,
                reason=TierChangeReason.MERGED,
                created_at=now,
            )
            tier_change_events(changes=TierChange.objects.filter(pk=change.pk))
        elif taken is not None and taken.tier_id is not None and kept is not None and taken.tier_id == kept.tier_id:
            # The same tier: it holds as long as either member's would have.
            kept.qualified_on = max(filter(None, [kept.qualified_on, taken.qualified_on]), default=None)
            if taken.manual_until and (kept.manual_until is None or taken.manual_until > kept.manual_until):
                kept.manual_until, kept.manual_reason = taken.manual_until, taken.manual_reason
            kept.updated_at = now
            kept.save(update_fields=["qualified_on", "manual_until", "manual_reason", "updated_at"])
        _upgrade_at_once(survivor.pk, today=program_date(now), now=now)


# --- Tiers set by hand by staff (a status match) -------------------------------------------

SET_TIER_PERMISSION = "tiers.set_tier"
MANUAL_TIER_MAX_MONTHS = 120


def member_tier_set(*, member, tier: Tier, until: date, reason: str, actor) -> TierChange:
    """Give ``member`` ``tier`` by hand until the end of ``until`` (today or later), with the staff's reason.

    Recorded as a ``manual`` tier change (the reason as its note, ``actor`` as who). A tier set
    by hand holds until its end day whatever the member qualifies for; it starts no grace
    period (a new tier clears ``qualified_on``), so once it ends the member keeps it only by
    qualifying. Setting the same tier, day and reason again changes nothing and returns the
    change that set it (a double click). To end one early, set its end day to today. Locks
    the member's points account first, so it serialises with an upgrade by the ledger.
    Raises ``PermissionDenied`` (``actor`` is not staff with ``tiers.set_tier``),
    ``ValidationError`` (no tier, no reason, an end day in the past or too far off) and
    ``MemberClosed``.
    """
    reason = reason.strip()
    if not (actor and actor.is_active and actor.is_staff and actor.has_perm(SET_TIER_PERMISSION)):
        raise PermissionDenied("You are not allowed to set a member's tier.")
    if tier is None:
        raise ValidationError("Choose the tier.", field="tier")
    if not reason:
        raise ValidationError("Say why the member gets this tier.", field="reason")
    if len(reason) > TierChange._meta.get_field("note").max_length:
        raise ValidationError("The reason is too long (255 characters at most).", field="reason")
    today = program_date()
    if until < today:
        raise ValidationError("The end day is in the past: choose today or later.", field="until")
    if until > add_months(today, MANUAL_TIER_MAX_MONTHS):
        raise ValidationError("The end day is too far off: ten years at most.", field="until")
    with transaction.atomic():
        locked = ledger_locks.account_for_update(member.account.pk)
        if locked.member_status == MemberStatus.CLOSED:
            raise MemberClosed()
        state = MemberTier.objects.filter(member_id=member.pk).first() or MemberTier(member=member)
        if (state.tier_id, state.manual_until, state.manual_reason) == (tier.pk, until, reason):
            last = TierChange.objects.filter(member_id=member.pk, reason=TierChangeReason.MANUAL).first()
            if last is not None:
                return last
        now = timezone.now()
        from_tier_id = state.tier_id
        if from_tier_id != tier.pk:
            state.qualified_on = None
        state.tier, state.manual_until, state.manual_reason, state.updated_at = tier, until, reason, now
        state.save()
        change = TierChange.objects.create(
            member=member,
            from_tier_id=from_tier_id,
            to_tier=tier,
            reason=TierChangeReason.MANUAL,
            note=reason,
            actor=actor,
            created_at=now,
        )
        tier_change_events(changes=TierChange.objects.filter(pk=change.pk))
        return change


# --- end of tiers set by hand ---------------------------------------------------------------
