"""Every write of missions: progress from the purchases and events the earning engine records, completions and
their prizes, and what a return undoes.

``progress_record`` is called by ``campaigns.services.purchase_record`` and ``campaigns.events`` in their
transaction, under the member's account lock: two purchases of one member run one after the other, so a
mission completes once per allowed period (and the database's partial unique constraint on
``MissionCompletion`` says so too). Its cost is small and fixed: the live missions are kept per process
(``selectors.missions_live_get``), each step is tested in Python on the basket, and only the missions a
record advances are read and written, in two statements (their progress rows read, then written in one
upsert that also keeps what this record added) whatever their number. A completion locks its mission row
(after the account and the campaigns: the lock order of ``campaigns.services``) to check the budget, then
pays the prize: points
through the ledger (kind ``bonus``, cause the completion; a purchase credits them with its own points in one
``ledger.credit_all``, under one lock), a voucher through ``rewards.services``, a badge
through ``badge_award``; then the ``mission.completed`` outbox event (webhooks, the notification), which a
purchase writes with its own ``points.earned`` in one insert.

A return (``progress_return``, in ``purchase_return``'s transaction) takes back what the purchase no longer
gives: its count if nothing of it is left, the spend given back, a category's purchase if none of its lines
are left. A completion whose steps are no longer done is reversed: its points by ``ledger.reverse`` under
the earning policy's return policy (debt or write-off, as for the purchase), its voucher cancelled if
unused, its badge taken back, the budget given back.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Case, F, Value, When
from django.db.transaction import TransactionManagementError

from campaigns import engine
from campaigns.campaign_services import earning_rules_changed
from campaigns.selectors import earning_policy_get, member_facts_get
from loyalty.clock import program_date
from loyalty.exceptions import NotReversible
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType as OutboxEventType
from missions.badges.models import Badge
from missions.badges.services import badge_award, badge_take_back
from rewards.models import Reward
from rewards.services import voucher_prize_issue, voucher_prize_take_back

from .models import (
    CompletionLimit,
    Mission,
    MissionCompletion,
    MissionProgress,
    MissionStep,
    StepKind,
)
from .runs import Streak, period_of, streak_extend, streak_of
from .selectors import (
    LiveMission,
    Step,
    budget_spent,
    has_budget,
    missions_live_get,
    step_done,
    step_for_engine,
)

CENT = Decimal("0.01")
ONCE_PERIOD_START = date(2000, 1, 1)  # the one period of a mission completed once


def period_start_of(limit: str, at: datetime) -> date:
    """The first day of the completion period holding ``at`` (program day, its Monday, its month's first day)."""
    if limit == CompletionLimit.ONCE:
        return ONCE_PERIOD_START
    day = program_date(at)
    if limit == CompletionLimit.WEEK:
        return day - timedelta(days=day.weekday())
    if limit == CompletionLimit.MONTH:
        return day.replace(day=1)
    return day


@dataclass(frozen=True)
class Activity:
    """A purchase or an event as the steps read it (``spend`` and ``categories``: of its paid lines)."""

    at: datetime
    is_purchase: bool
    partner_id: int | None = None
    spend: Decimal = Decimal(0)
    categories: frozenset[str] = frozenset()
    event_type_id: int | None = None


def step_gain(step: Step, activity: Activity):
    """What ``activity`` adds to ``step`` (a count, an amount, a streak's period), or ``None``. Pure."""
    if step.kind == StepKind.EVENTS:
        return 1 if not activity.is_purchase and activity.event_type_id == step.event_type_id else None
    if not activity.is_purchase:
        return None
    if step.kind == StepKind.PURCHASES:
        return 1
    if step.kind == StepKind.SPEND:
        return str(activity.spend) if activity.spend > 0 else None
    if step.kind == StepKind.CATEGORY:
        return 1 if step.category in activity.categories else None
    if step.kind == StepKind.PARTNER:
        return 1 if activity.partner_id == step.partner_id else None
    if step.kind == StepKind.STREAK:
        return period_of(program_date(activity.at), step.streak_unit)
    return None


def _add(step: Step, values: dict, gain) -> None:
    key = str(step.id)
    if step.kind == StepKind.STREAK:
        state = values.get(key) or {}
        streak = streak_extend(Streak(state.get("current", 0), state.get("longest", 0), state.get("last")), gain)
        values[key] = {"current": streak.current, "longest": streak.longest, "last": streak.last}
    elif step.kind == StepKind.SPEND:
        values[key] = str(Decimal(values.get(key, "0")) + Decimal(gain))
    else:
        values[key] = int(values.get(key, 0)) + gain


def progress_apply(mission: LiveMission, values: dict, activity: Activity) -> dict:
    """Add ``activity`` to ``values`` (changed in place) and return what it added per step id (empty: nothing).

    In a journey (``ordered``) a step counts only once every step before it was done before this
    activity: one purchase does not walk several steps of a journey at once. Pure."""
    gains = {}
    done_before = [step_done(step, values) for step in mission.steps]
    for index, step in enumerate(mission.steps):
        if done_before[index] or (mission.ordered and not all(done_before[:index])):
            continue
        gain = step_gain(step, activity)
        if gain is None:
            continue
        _add(step, values, gain)
        gains[str(step.id)] = gain
    return gains


def progress_record(
    *,
    member,
    now: datetime,
    purchase=None,
    paid_amounts: Sequence[Decimal] = (),
    categories: Sequence[str] = (),
    event=None,
    facts: engine.MemberFacts | None = None,
    policy=None,
    pay_points: bool = True,
) -> list[MissionCompletion]:
    """Count a purchase (its lines' ``paid_amounts`` and ``categories``, in order) or an event (earned, or
    earning nothing under the rules) towards the live missions, and complete those it finishes.

    Runs in the caller's transaction, which holds the member's account lock; the member may earn
    (active). ``facts`` and ``policy``: the caller's, read already (else read when needed). No query
    when no live mission has a step this record advances; else a fixed number of statements, and for
    each completion its mission's lock and prize. Returns the completions.

    ``pay_points=False``: the caller credits the completions' points in its own ledger write
    (``prize_credits``, then ``prizes_pay`` with the entries), as a purchase does with its own points."""
    if connection.get_autocommit():
        raise TransactionManagementError("Progress is recorded in the transaction of its purchase or event.")
    at = purchase.occurred_at if purchase is not None else event.occurred_at
    if purchase is not None:
        paid = [Decimal(amount) for amount in paid_amounts]
        activity = Activity(
            at=at,
            is_purchase=True,
            partner_id=purchase.partner_id,
            spend=sum((amount for amount in paid if amount > 0), Decimal(0)).quantize(CENT),
            categories=frozenset(cat for cat, amount in zip(categories, paid, strict=True) if cat and amount > 0),
        )
    else:
        activity = Activity(at=at, is_purchase=False, partner_id=event.partner_id, event_type_id=event.event_type_id)
    candidates = [
        mission
        for mission in missions_live_get(at=at, policy=policy)
        if any(step_gain(step, activity) is not None for step in mission.steps)
    ]
    if not candidates:
        return []
    if facts is None and any(mission.has_audience for mission in candidates):
        facts = member_facts_get(member=member)
    program = engine.Program(points_per_unit=Decimal(0), time_zone=settings.TIME_ZONE)
    candidates = [
        mission
        for mission in candidates
        if engine.campaign_applies(
            mission.audience,
            occurred_at=at,
            partner_id=None,
            channel="",
            member=facts or engine.MemberFacts(),
            program=program,
        )
    ]
    if not candidates:
        return []
    periods = {mission.id: period_start_of(mission.completion_limit, at) for mission in candidates}
    rows = {
        row.mission_id: row
        for row in MissionProgress.objects.filter(
            member_id=member.pk, mission_id__in=list(periods), period_start__in=set(periods.values())
        )
        if periods[row.mission_id] == row.period_start
    }
    touched, finishing = [], []
    record_key = f"p{purchase.pk}" if purchase is not None else f"e{event.pk}"
    for mission in candidates:
        row = rows.get(mission.id) or MissionProgress(
            mission_id=mission.id, member_id=member.pk, period_start=periods[mission.id], values={}
        )
        if row.completed_at is not None:
            continue  # done for this period
        values = dict(row.values)
        added = progress_apply(mission, values, activity)
        if not added:
            continue
        row.values, row.records, row.updated_at = values, {**row.records, record_key: added}, now
        touched.append(row)
        if all(step_done(step, values) for step in mission.steps):
            finishing.append(mission)
    if not touched:
        return []
    paying = _budget_take(finishing)
    for row in touched:
        if row.mission_id in paying:
            row.completed_at = now
    # New and existing rows in one upsert (under the account's lock no other transaction writes them).
    MissionProgress.objects.bulk_create(
        touched,
        update_conflicts=True,
        unique_fields=["mission", "member", "period_start"],
        update_fields=["values", "records", "completed_at", "updated_at"],
    )
    by_mission = {row.mission_id: row for row in touched}
    completions = [
        _completion_create(mission, by_mission[mission.id], member=member, now=now)
        for mission in finishing
        if mission.id in paying
    ]
    if pay_points and completions:
        entries = ledger.credit_all(member.account, prize_credits(completions), now=now)
        outbox.events_record(
            events=prizes_pay(completions, entries, member=member, now=now),
            member=member,
            partner=purchase.partner if purchase is not None else event.partner,
            now=now,
        )
    return completions


def _budget_take(finishing: list[LiveMission]) -> set[int]:
    """The finishing missions that pay now: those without a budget at once (no lock: racing members never wait
    on each other for them), those with one if their budget still pays a completion. These are locked (id
    order, one query) and counted (``points_paid``, ``completions``: one UPDATE); a budget spent by it (or
    found spent) gives the rules a new version, so every process stops evaluating the mission."""
    paying = {mission.id for mission in finishing if not mission.budgeted}
    budgeted = [mission for mission in finishing if mission.budgeted]
    if not budgeted:
        return paying
    rows = {
        row.pk: row
        for row in Mission.objects.filter(pk__in=[mission.id for mission in budgeted])
        .order_by("pk")
        .select_for_update()
        .only("pk", "status", "budget_points", "budget_completions", "points_paid", "completions", "prize_points")
    }
    counted, spent = set(), False
    for mission in budgeted:
        row = rows.get(mission.id)
        if row is None or row.status != "active":
            continue
        if budget_spent(row):
            spent = True
            continue
        counted.add(row.pk)
        row.points_paid += row.prize_points
        row.completions += 1
        spent = spent or budget_spent(row)
    if counted:
        _counters_add({pk: (rows[pk].prize_points, 1) for pk in counted})
    if spent:
        earning_rules_changed()
    return paying | counted


def _counters_add(changes: dict[int, tuple[int, int]]) -> None:
    """``points_paid += points`` and ``completions += count`` per mission, in one UPDATE (negative: given back)."""
    ids = sorted(changes)
    Mission.objects.filter(pk__in=ids).update(
        points_paid=F("points_paid") + Case(*(When(pk=pk, then=Value(changes[pk][0])) for pk in ids), default=0),
        completions=F("completions") + Case(*(When(pk=pk, then=Value(changes[pk][1])) for pk in ids), default=0),
    )


def _completion_create(mission: LiveMission, row: MissionProgress, *, member, now) -> MissionCompletion:
    """The completion row, its prize not paid yet; ``live`` carries its kept mission (names, prizes) to
    ``prize_credits`` and ``prizes_pay`` without reading it again."""
    completion = MissionCompletion.objects.create(
        progress=row, mission_id=mission.id, member=member, completed_at=now, points=mission.prize_points
    )
    completion.live = mission
    return completion


def prize_credits(completions: Sequence[MissionCompletion]) -> list[ledger.CreditSpec]:
    """The ledger credits of the completions' points (kind ``bonus``, cause the completion), for ``credit_all``."""
    return [
        ledger.CreditSpec(
            account_id=completion.member.account.pk,
            points=completion.points,
            kind=EntryKind.BONUS,
            cause=completion,
            memo_code=memos.MISSION_PRIZE,
            memo_params={"name": completion.live.name, "name_fr": completion.live.name_fr},
        )
        for completion in completions
        if completion.points
    ]


def prizes_pay(completions: Sequence[MissionCompletion], entries: Sequence, *, member, now) -> list[tuple[str, dict]]:
    """The rest of each completion's prize once ``entries`` (``credit_all`` of ``prize_credits``, in order) paid
    its points: a voucher, a badge. Returns the ``mission.completed`` outbox events for the caller to write
    (``outbox.events_record``, with its own)."""
    paid = iter(entries)
    events = []
    for completion in completions:
        mission = completion.live
        completion.entry = next(paid) if completion.points else None
        if mission.prize_reward_id:
            reward = Reward.objects.get(pk=mission.prize_reward_id)
            completion.voucher = voucher_prize_issue(
                member=member, reward=reward, key=f"mission-completion:{completion.pk}", now=now
            )
        if mission.prize_badge_id:
            badge = Badge.objects.get(pk=mission.prize_badge_id)
            if badge_award(member=member, badge=badge, source=badge_source(mission.id), now=now) is not None:
                completion.badge = badge
        if completion.entry_id or completion.voucher_id or completion.badge_id:
            completion.save(update_fields=["entry", "voucher", "badge"])
        events.append(
            (OutboxEventType.MISSION_COMPLETED, {
                "member": member.member_number,
                "mission": mission.id,
                "name": mission.name,
                "name_fr": mission.name_fr,
                "completion": completion.pk,
                "points": mission.prize_points,
                "voucher": completion.voucher_id,
                "badge": completion.badge.code if completion.badge_id else None,
                "balance": completion.entry.balance_after if completion.entry_id else None,
            })
        )  # fmt: skip
    return events


def badge_source(mission_id: int) -> str:
    return f"mission:{mission_id}"


# Returns.


def progress_return(*, purchase, lines, now: datetime, policy=None) -> list[MissionCompletion]:
    """Take back what ``purchase`` no longer gives after a return (``lines``: its lines, their returned figures
    current) and reverse the completions whose steps are no longer all done. Runs in ``purchase_return``'s
    transaction, under the member's account lock. One query when the purchase advanced no mission."""
    key = f"p{purchase.pk}"
    rows = list(MissionProgress.objects.filter(member_id=purchase.member_id, records__has_key=key).order_by("pk"))
    if not rows:
        return []
    left = [(line.category, Decimal(line.paid_amount) - Decimal(line.returned_amount)) for line in lines]
    whole_left = [line for line in lines if line.returned_quantity < line.quantity]
    remaining = Activity(
        at=purchase.occurred_at,
        is_purchase=True,
        partner_id=purchase.partner_id,
        spend=sum((amount for _cat, amount in left if amount > 0), Decimal(0)).quantize(CENT),
        categories=frozenset(line.category for line in whole_left if line.category),
    )
    counts = bool(whole_left)
    steps: dict[int, list[Step]] = {}
    for step_row in MissionStep.objects.filter(mission_id__in={row.mission_id for row in rows}).order_by(
        "position", "pk"
    ):
        steps.setdefault(step_row.mission_id, []).append(step_for_engine(step_row))
    changed = []
    for row in rows:
        values, kept = dict(row.values), dict(row.records[key])
        for step in steps.get(row.mission_id, ()):
            step_key = str(step.id)
            if step_key not in kept:
                continue
            if step.kind == StepKind.SPEND:
                now_gain = min(Decimal(kept[step_key]), remaining.spend)
                values[step_key] = str(Decimal(values.get(step_key, "0")) - (Decimal(kept[step_key]) - now_gain))
                kept[step_key] = str(now_gain)
            elif step.kind == StepKind.STREAK:
                if not counts:  # recounted from what the row's other records still give
                    del kept[step_key]
                    periods = [
                        gains[step_key] for name, gains in row.records.items() if name != key and step_key in gains
                    ]
                    streak = streak_of(periods, today=period_of(program_date(now), step.streak_unit))
                    values[step_key] = {"current": streak.current, "longest": streak.longest, "last": streak.last}
            elif step_gain(step, remaining) is None or not counts:
                values[step_key] = int(values.get(step_key, 0)) - int(kept.pop(step_key))
        if kept != row.records[key]:
            row.values, row.records, row.updated_at = values, {**row.records, key: kept}, now
            changed.append(row)
    if not changed:
        return []
    undone = []
    for row in changed:
        if row.completed_at is not None and not all(step_done(step, row.values) for step in steps[row.mission_id]):
            undone.append(row)
            row.completed_at = None
    MissionProgress.objects.bulk_update(changed, ["values", "records", "completed_at", "updated_at"])
    if not undone:
        return []
    return _completions_reverse(undone, member=purchase.member, now=now, policy=policy or earning_policy_get())


def _completions_reverse(rows: list[MissionProgress], *, member, now, policy) -> list[MissionCompletion]:
    """Reverse the standing completions of ``rows``: points under the return policy, voucher, badge, budget."""
    completions = list(
        MissionCompletion.objects.filter(progress__in=rows, reversed_at__isnull=True)
        .select_related("mission", "entry", "voucher", "badge")
        .order_by("pk")
    )
    given_back = {}
    for completion in completions:
        if completion.entry_id is not None:
            completion.entry.account = member.account
            completion.reversal = _points_take_back(completion, policy=policy, now=now)
            completion.shortfall = completion.reversal.debt if completion.reversal is not None else 0
        if completion.voucher_id is not None:
            voucher_prize_take_back(voucher=completion.voucher, now=now)
        if completion.badge_id is not None:
            badge_take_back(member=member, badge=completion.badge, source=badge_source(completion.mission_id))
        completion.reversed_at = now
        if has_budget(completion.mission):
            points, count = given_back.get(completion.mission_id, (0, 0))
            given_back[completion.mission_id] = (points - completion.points, count - 1)
    MissionCompletion.objects.bulk_update(completions, ["reversed_at", "reversal", "shortfall"])
    if given_back:
        _counters_add(given_back)
        earning_rules_changed()  # a spent budget may pay again
    return completions


def _points_take_back(completion: MissionCompletion, *, policy, now):
    """``ledger.reverse`` of what is left of the prize's points, shortfall by the earning policy's return policy;
    points of it that already expired are not taken back again (as for a purchase). ``None`` if none is left."""
    try:
        return ledger.reverse(
            completion.entry,
            shortfall=policy.return_policy,
            memo_code=memos.MISSION_PRIZE_REVERSED,
            memo_params={"name": completion.mission.name, "name_fr": completion.mission.name_fr},
            idempotency_key=f"mission-completion-reversed:{completion.pk}",
            now=now,
        )
    except NotReversible:  # all of them expired
        return None
