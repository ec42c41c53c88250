"""Reads of missions: the live ones as the purchase path evaluates them (kept per process like the campaigns),
and a member's progress as the portal and the API show it (a fixed number of queries)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch

from campaigns import engine
from campaigns.models import EarningPolicy
from campaigns.selectors import kept_rules

from .models import Mission, MissionCompletion, MissionProgress, MissionStatus, MissionStep, StepKind


@dataclass(frozen=True)
class Step:
    id: int
    position: int
    kind: str
    count: int = 1
    amount: Decimal = Decimal(0)
    category: str = ""
    partner_id: int | None = None
    event_type_id: int | None = None
    streak_unit: str = "day"


@dataclass(frozen=True)
class LiveMission:
    """A mission as the purchase path reads it; ``audience`` is an engine ``Campaign`` without rules, so the
    campaigns' own code decides dates and audience (``engine.campaign_applies``)."""

    id: int
    name: str
    name_fr: str
    ordered: bool
    completion_limit: str
    steps: tuple[Step, ...]
    audience: engine.Campaign
    prize_points: int = 0
    prize_reward_id: int | None = None
    prize_badge_id: int | None = None
    budgeted: bool = False

    @property
    def has_audience(self) -> bool:
        return (
            bool(self.audience.tier_ids)
            or self.audience.joined_after is not None
            or (self.audience.joined_before is not None)
        )


def step_for_engine(row: MissionStep) -> Step:
    return Step(
        id=row.pk,
        position=row.position,
        kind=row.kind,
        count=row.count,
        amount=Decimal(row.amount),
        category=row.category,
        partner_id=row.partner_id,
        event_type_id=row.event_type_id,
        streak_unit=row.streak_unit,
    )


def missions_live_get(*, at: datetime, policy: EarningPolicy | None = None) -> tuple[LiveMission, ...]:
    """The active missions whose dates include ``at`` and whose budget is not spent, with their steps and tiers.

    Three queries (missions, steps, tiers); none with ``policy`` given while the earning rules' version
    it says is the one they were read under (``missions.signals``; a budget spent changes it too). The
    budget read here may be old: ``services`` checks it again under the mission's lock.
    """
    live = kept_rules(policy, "missions", _missions_read)
    return tuple(
        mission
        for mission in live
        if (mission.audience.starts_at is None or mission.audience.starts_at <= at)
        and (mission.audience.ends_at is None or mission.audience.ends_at > at)
    )


def has_budget(row: Mission) -> bool:
    return row.budget_points is not None or row.budget_completions is not None


def budget_spent(row: Mission) -> bool:
    """No full prize or completion is left in the mission's budget."""
    if row.budget_completions is not None and row.completions >= row.budget_completions:
        return True
    return row.budget_points is not None and row.points_paid + row.prize_points > row.budget_points


def _missions_read() -> tuple[LiveMission, ...]:
    rows = [row for row in Mission.objects.filter(status=MissionStatus.ACTIVE).order_by("pk") if not budget_spent(row)]
    ids = [row.pk for row in rows]
    steps: dict[int, list[Step]] = {}
    for step in MissionStep.objects.filter(mission_id__in=ids).order_by("position", "pk"):
        steps.setdefault(step.mission_id, []).append(step_for_engine(step))
    tiers: dict[int, set[int]] = {}
    for mission_id, tier_id in Mission.tiers.through.objects.filter(mission_id__in=ids).values_list(
        "mission_id", "tier_id"
    ):
        tiers.setdefault(mission_id, set()).add(tier_id)
    return tuple(mission_for_engine(row, steps[row.pk], tiers.get(row.pk, ())) for row in rows if row.pk in steps)


def mission_for_engine(row: Mission, steps, tier_ids) -> LiveMission:
    return LiveMission(
        id=row.pk,
        name=row.name,
        name_fr=row.name_fr,
        ordered=row.ordered,
        completion_limit=row.completion_limit,
        steps=tuple(steps),
        audience=engine.Campaign(
            id=row.pk,
            name=row.name,
            rules=(),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            tier_ids=frozenset(tier_ids),
            joined_after=row.joined_after,
            joined_before=row.joined_before,
        ),
        prize_points=row.prize_points,
        prize_reward_id=row.prize_reward_id,
        prize_badge_id=row.prize_badge_id,
        budgeted=has_budget(row),
    )


# What a member sees.


@dataclass
class StepProgress:
    step: MissionStep
    value: Decimal
    target: Decimal
    done: bool

    @property
    def percent(self) -> int:
        return 100 if self.done or not self.target else min(int(self.value * 100 / self.target), 99)


@dataclass
class MemberMission:
    mission: Mission
    steps: list[StepProgress]
    period_start: date | None
    completed: MissionProgress | None  # the current period's progress row, if completed (its ``completed_at``)

    @property
    def done_steps(self) -> int:
        return sum(1 for step in self.steps if step.done)

    @property
    def percent(self) -> int:
        if self.completed is not None:
            return 100
        if not self.steps:
            return 0
        return min(sum(step.percent for step in self.steps) // len(self.steps), 99)


def step_value(step, values: dict) -> Decimal:
    """A step's value in a progress row: its count, amount, or for a streak its longest run."""
    value = values.get(str(step.id))
    if value is None:
        return Decimal(0)
    if step.kind == StepKind.STREAK:
        return Decimal(value.get("longest", 0))
    return Decimal(value)


def step_target(step) -> Decimal:
    return Decimal(step.amount) if step.kind == StepKind.SPEND else Decimal(step.count)


def step_done(step, values: dict) -> bool:
    target = step_target(step)
    return step_value(step, values) >= target and (target > 0 or str(step.id) in values)


RECENT_COMPLETIONS = 20  # the portal's list of missions completed: the newest


def member_missions(*, member, now: datetime, facts: engine.MemberFacts) -> tuple[list[MemberMission], list]:
    """The active missions that apply to ``member`` now, each with its steps' progress in the current period,
        and the member's standing completions (newest first, with their prizes). Five queries whatever the
        number of missions: the missions, their steps, tiers, the member's progress rows, its completions (the
    ``RECENT_COMPLETIONS`` newest)."""
    from .services import period_start_of

    rows = list(
        Mission.objects.filter(status=MissionStatus.ACTIVE)
        .select_related("prize_reward", "prize_badge")
        .prefetch_related(
            Prefetch("steps", queryset=MissionStep.objects.select_related("partner", "event_type")),
            "tiers",
        )
        .order_by("ends_at", "pk")
    )
    program = engine.Program(points_per_unit=Decimal(0), time_zone=settings.TIME_ZONE)
    applying = [
        row
        for row in rows
        if engine.campaign_applies(
            mission_for_engine(row, (), [tier.pk for tier in row.tiers.all()]).audience,
            occurred_at=now,
            partner_id=None,
            channel="",
            member=facts,
            program=program,
        )
    ]
    periods = {row.pk: period_start_of(row.completion_limit, now) for row in applying}
    progress = {
        (p.mission_id, p.period_start): p
        for p in MissionProgress.objects.filter(member_id=member.pk, mission_id__in=list(periods))
        if periods.get(p.mission_id) == p.period_start
    }
    completions = list(
        MissionCompletion.objects.filter(member_id=member.pk, reversed_at__isnull=True)
        .select_related("mission", "voucher", "badge")
        .order_by("-completed_at", "-pk")[:RECENT_COMPLETIONS]
    )
    shown = []
    for row in applying:
        key = (row.pk, periods[row.pk])
        values = progress[key].values if key in progress else {}
        steps = [
            StepProgress(
                step=step, value=step_value(step, values), target=step_target(step), done=step_done(step, values)
            )
            for step in row.steps.all()
        ]
        completed = progress[key] if key in progress and progress[key].completed_at is not None else None
        if completed is None and budget_spent(row):
            continue  # stopped by its budget: nothing left to earn
        shown.append(MemberMission(mission=row, steps=steps, period_start=periods[row.pk], completed=completed))
    return shown, completions
