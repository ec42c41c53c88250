"""The admin's simulator and dry run: the engine's answer without writing anything, and without locks.

``purchase_simulate`` evaluates one typed basket for a member (their tier, join day, lists,
what their caps already hold) or for a tier, against the live campaigns, optionally with
one draft campaign as if it were live. ``campaign_dry_run`` re-evaluates the stored
purchases of the last N days with a campaign added as live and counts what it would have
given: its points (its own budget and caps replayed in the order of the purchases), the
net change of the points issued (an exclusive rule may displace others' points), the
liability of that change at ``settings.LOYALTY_POINT_VALUE``, the members it would reach
and the purchases it would match. The other live campaigns take part with their rules and
windows, so stacking and exclusivity are as they would be; their own caps and budgets are
not replayed, and members are taken with their tier of today.

Neither locks a row: the budget rows ``campaigns_prepare`` locks for a purchase are read
here as they are.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.utils.translation import gettext

from loyalty.clock import program_date, program_timezone
from members.models import Member
from members.tiers.models import MemberTier, Tier

from . import engine
from .breakdown import localized, reason_text, source_label, summarize
from .models import (
    Campaign,
    CampaignMember,
    CampaignStatus,
    CampaignUsage,
    CapPeriod,
    EarningPolicy,
    Outcome,
    Purchase,
    PurchaseLine,
    RateOverride,
)

CAMPAIGN_PERIOD_START = date(2000, 1, 1)  # CampaignUsage's fixed day for a cap per campaign
DRY_RUN_BATCH = 500


# Rows as the engine sees them


def program_get() -> engine.Program:
    """The base rate and the active rate overrides (two queries)."""
    policy = EarningPolicy.objects.get(pk=1)
    overrides = tuple(
        engine.RateOverride(
            id=row.pk,
            points_per_unit=row.points_per_unit,
            partner_id=row.partner_id,
            category=row.category,
            sku=row.sku,
        )
        for row in RateOverride.objects.filter(active=True).order_by("pk")
    )
    return engine.Program(points_per_unit=policy.points_per_unit, time_zone=settings.TIME_ZONE, overrides=overrides)


def campaigns_with_rules(queryset) -> list[Campaign]:
    """Campaigns with their rules, tiers and partners (four queries whatever their number)."""
    return list(queryset.prefetch_related("rules__event_type", "tiers", "partners").order_by("pk"))


def live_campaigns_get(*, exclude_id: int | None = None) -> list[Campaign]:
    """The active campaigns (their dates are the engine's to check), without locking them."""
    queryset = Campaign.objects.filter(status=CampaignStatus.ACTIVE)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return campaigns_with_rules(queryset)


def cap_period_start(cap_period: str, occurred_at: datetime) -> date:
    """The first day of the cap period ``occurred_at`` falls in (program days)."""
    if cap_period == CapPeriod.CAMPAIGN:
        return CAMPAIGN_PERIOD_START
    day = program_date(occurred_at)
    return day - timedelta(days=day.weekday()) if cap_period == CapPeriod.WEEK else day


def engine_rule(rule) -> engine.Rule:
    return engine.Rule(
        id=rule.pk,
        kind=rule.kind,
        priority=rule.priority,
        exclusive=rule.exclusive,
        multiplier=rule.multiplier,
        points=rule.points,
        skus=frozenset(rule.skus or ()),
        categories=frozenset(rule.categories or ()),
        min_amount=rule.min_amount,
        min_quantity=rule.min_quantity,
        event_type=rule.event_type.code if rule.event_type_id else "",
    )


def engine_campaign(
    campaign: Campaign, *, member_in_list: bool | None, member_cap_used: int = 0, budget_left: int | None = None
) -> engine.Campaign:
    """``campaign`` (rules, tiers and partners prefetched) for the engine."""
    return engine.Campaign(
        id=campaign.pk,
        name=campaign.name,
        rules=tuple(engine_rule(rule) for rule in campaign.rules.all()),
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        weekdays=frozenset(campaign.weekdays or ()),
        start_time=campaign.start_time,
        end_time=campaign.end_time,
        tier_ids=frozenset(tier.pk for tier in campaign.tiers.all()),
        partner_ids=frozenset(partner.pk for partner in campaign.partners.all()),
        channels=frozenset(campaign.channels or ()),
        joined_after=campaign.joined_after,
        joined_before=campaign.joined_before,
        member_in_list=member_in_list if campaign.uses_member_list else None,
        member_cap=campaign.member_cap,
        cap_period=campaign.cap_period,
        member_cap_used=member_cap_used,
        budget_left=budget_left,
    )


def budget_left_of(campaign: Campaign) -> int | None:
    return None if campaign.budget is None else max(campaign.budget - campaign.points_awarded, 0)


def tier_facts(tier: Tier | None, *, joined_on: date | None = None, first_purchase=False) -> engine.MemberFacts:
    if tier is None:
        return engine.MemberFacts(joined_on=joined_on, first_purchase=first_purchase)
    return engine.MemberFacts(
        tier_id=tier.pk,
        tier_name=tier.name,
        tier_multiplier=tier.earning_multiplier,
        joined_on=joined_on,
        first_purchase=first_purchase,
    )


def member_tier_get(member: Member) -> Tier | None:
    state = MemberTier.objects.select_related("tier").filter(member=member).first()
    return state.tier if state else None


# The simulator


@dataclass(frozen=True)
class Row:
    line: int | None  # 1-based, for reading
    sku: str
    label: str
    reason: str
    points: int


@dataclass(frozen=True)
class Simulation:
    result: engine.Result
    rows: tuple[Row, ...]
    summary: tuple[tuple[str, int], ...]
    notes: tuple[str, ...]
    paid: tuple[tuple[str, Decimal], ...]  # per line: SKU, what was paid
    points: int
    campaigns: tuple[str, ...]  # the campaigns it was evaluated against
    tier_name: str = ""

    @property
    def summary_text(self) -> str:
        return ", ".join(f"{label}: {points}" for label, points in self.summary)


def _simulation(
    result: engine.Result, *, basket: engine.Basket, campaigns: list[Campaign], facts: engine.MemberFacts
) -> Simulation:
    names = {campaign.pk: localized(campaign.name, campaign.name_fr) for campaign in campaigns}
    rows = []
    for award in result.awards:
        name = names.get(award.campaign_id, "")
        label = source_label(source=award.source, campaign_name=name, tier_name=facts.tier_name)
        line = basket.lines[award.line] if award.line is not None else None
        rows.append(
            Row(
                line=None if award.line is None else award.line + 1,
                sku=line.sku if line else "",
                label=label,
                reason=reason_text(award.reason, award.params),
                points=award.points,
            )
        )
    notes = []
    for note in result.notes:
        name = names.get(note.campaign_id, "")
        if note.reason == "member_cap":
            text = gettext("%(campaign)s: %(points)s points over the member's cap were not given.")
        else:
            text = gettext("%(campaign)s: %(points)s points were not given: its budget is spent.")
        notes.append(text % {"campaign": name, "points": note.points_cut})
    return Simulation(
        result=result,
        rows=tuple(rows),
        summary=tuple(summarize((row.label, row.points) for row in rows)),
        notes=tuple(notes),
        paid=tuple((line.sku, paid) for line, paid in zip(basket.lines, result.paid_amounts, strict=True)),
        points=result.points,
        campaigns=tuple(names[campaign.pk] for campaign in campaigns),
        tier_name=facts.tier_name,
    )


def purchase_simulate(
    *,
    basket: engine.Basket,
    member: Member | None = None,
    tier: Tier | None = None,
    first_purchase: bool = False,
    extra_campaign: Campaign | None = None,
) -> Simulation:
    """What ``basket`` would earn ``member`` (or a member of ``tier``) now; writes nothing, locks nothing.

    With ``extra_campaign`` (a draft), that campaign counts as live. A fixed number of queries.
    """
    campaigns = live_campaigns_get(exclude_id=extra_campaign.pk if extra_campaign else None)
    if extra_campaign is not None:
        campaigns += campaigns_with_rules(Campaign.objects.filter(pk=extra_campaign.pk))
    ids = [campaign.pk for campaign in campaigns]
    listed: set[int] = set()
    used: dict[tuple[int, date], int] = {}
    if member is not None:
        tier = member_tier_get(member)
        earlier = Purchase.objects.filter(member=member, outcome=Outcome.EARNED, occurred_at__lt=basket.occurred_at)
        first_purchase = not earlier.exists()
        facts = tier_facts(tier, joined_on=program_date(member.joined_at), first_purchase=first_purchase)
        listed = set(
            CampaignMember.objects.filter(member=member, campaign_id__in=ids).values_list("campaign_id", flat=True)
        )
        for campaign_id, period_start, points in CampaignUsage.objects.filter(
            member=member, campaign_id__in=ids
        ).values_list("campaign_id", "period_start", "points"):
            used[(campaign_id, period_start)] = points
    else:
        facts = tier_facts(tier, first_purchase=first_purchase)
    engine_campaigns = tuple(
        engine_campaign(
            campaign,
            member_in_list=campaign.pk in listed,
            member_cap_used=used.get((campaign.pk, cap_period_start(campaign.cap_period, basket.occurred_at)), 0),
            budget_left=budget_left_of(campaign),
        )
        for campaign in campaigns
    )
    result = engine.evaluate_purchase(basket, program=program_get(), member=facts, campaigns=engine_campaigns)
    return _simulation(result, basket=basket, campaigns=campaigns, facts=facts)


def simulator_forms(data, *, initial_campaign=None):
    """The simulator's form and its lines' formset, bound to ``data`` (a POST) or blank."""
    from django.utils import timezone

    from .forms import SimulatorForm, SimulatorLineFormSet

    now = timezone.localtime(timezone.now(), program_timezone())
    initial = {"occurred_at": now.replace(second=0, microsecond=0, tzinfo=None)}
    if initial_campaign and str(initial_campaign).isdigit():
        initial["campaign"] = int(initial_campaign)
    return SimulatorForm(data, initial=initial), SimulatorLineFormSet(data, prefix="lines")


def simulation_input(form, lines) -> dict:
    """The keyword arguments of ``purchase_simulate`` from the valid simulator forms."""
    data = form.cleaned_data
    basket = engine.Basket(
        lines=tuple(
            engine.Line(
                sku=line["sku"],
                category=line.get("category", ""),
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount=line.get("discount") or Decimal(0),
            )
            for line in lines.cleaned_data
            if line
        ),
        occurred_at=data["occurred_at"],
        partner_id=data["partner"].pk if data.get("partner") else None,
        channel=data.get("channel", ""),
        discount=data.get("discount") or Decimal(0),
        points_amount=data.get("points_amount") or Decimal(0),
    )
    return {
        "basket": basket,
        "member": data.get("member_number"),
        "tier": data.get("tier"),
        "first_purchase": data.get("first_purchase", False),
        "extra_campaign": data.get("campaign"),
    }


# The dry run


@dataclass
class DryRun:
    since: datetime
    until: datetime
    purchases_evaluated: int = 0
    purchases_matched: int = 0
    members_reached: int = 0
    points: int = 0  # what the campaign itself would have given
    net_points: int = 0  # the change of all points issued (its points less what exclusivity took from others)
    points_cut: int = 0  # what its caps and budget held back
    point_value: Decimal = Decimal(0)
    currency: str = ""
    members: set[int] = field(default_factory=set, repr=False)

    @property
    def liability(self) -> Decimal:
        return (Decimal(self.net_points) * self.point_value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def point_value() -> Decimal:
    return Decimal(str(settings.LOYALTY_POINT_VALUE))


def basket_of(purchase: Purchase) -> engine.Basket:
    return engine.Basket(
        lines=tuple(
            engine.Line(
                sku=line.sku,
                category=line.category,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount_amount,
            )
            for line in purchase.lines.all()
        ),
        occurred_at=purchase.occurred_at,
        partner_id=purchase.partner_id,
        channel=purchase.channel,
        discount=purchase.discount_amount,
        points_amount=purchase.points_amount,
    )


def _purchase_batches(*, since: datetime, until: datetime) -> Iterator[list[Purchase]]:
    """The purchases that could earn in the window, oldest first, a batch at a time (keyset pagination)."""
    could_earn = [Outcome.EARNED, Outcome.NOTHING]
    queryset = (
        Purchase.objects.filter(occurred_at__gte=since, occurred_at__lt=until, outcome__in=could_earn)
        .order_by("occurred_at", "pk")
        .prefetch_related(Prefetch("lines", queryset=PurchaseLine.objects.order_by("position")))
    )
    after: tuple[datetime, int] | None = None
    while True:
        page = queryset
        if after is not None:
            page = page.filter(Q(occurred_at__gt=after[0]) | Q(occurred_at=after[0], pk__gt=after[1]))
        batch = list(page[:DRY_RUN_BATCH])
        if not batch:
            return
        yield batch
        after = (batch[-1].occurred_at, batch[-1].pk)


def _members_facts(member_ids: Iterable[int]) -> dict[int, tuple[Member, Tier | None, tuple[datetime, int] | None]]:
    """Each member, their tier, and their first purchase that earned ((occurred_at, id)), in one query."""
    earned = Purchase.objects.filter(member=OuterRef("pk"), outcome=Outcome.EARNED).order_by("occurred_at", "pk")
    members = Member.objects.filter(pk__in=list(member_ids)).annotate(
        first_earned_at=Subquery(earned.values("occurred_at")[:1]),
        first_earned_id=Subquery(earned.values("pk")[:1]),
    )
    tiers = {
        state.member_id: state.tier
        for state in MemberTier.objects.select_related("tier").filter(member_id__in=[m.pk for m in members])
    }
    facts = {}
    for member in members:
        first = (member.first_earned_at, member.first_earned_id) if member.first_earned_id else None
        facts[member.pk] = (member, tiers.get(member.pk), first)
    return facts


def campaign_dry_run(*, campaign: Campaign, days: int, now: datetime) -> DryRun:
    """What ``campaign`` would have given over the purchases of the ``days`` before ``now``, had it been live.

    Read only and lock-free; the purchases are read ``DRY_RUN_BATCH`` at a time (a fixed
    number of queries per batch). The campaign's budget and per-member caps are replayed in
    the order of the purchases.
    """
    since = now - timedelta(days=days)
    report = DryRun(since=since, until=now, point_value=point_value(), currency=settings.LOYALTY_CURRENCY)
    program = program_get()
    others = live_campaigns_get(exclude_id=campaign.pk)
    (draft,) = campaigns_with_rules(Campaign.objects.filter(pk=campaign.pk))
    list_campaign_ids = [c.pk for c in [*others, draft] if c.uses_member_list]
    budget_left = budget_left_of(draft)
    cap_used: dict[tuple[int, date], int] = {}
    for batch in _purchase_batches(since=since, until=now):
        member_ids = {purchase.member_id for purchase in batch}
        facts_of = _members_facts(member_ids)
        listed = set(
            CampaignMember.objects.filter(campaign_id__in=list_campaign_ids, member_id__in=member_ids).values_list(
                "campaign_id", "member_id"
            )
        )
        for purchase in batch:
            member, tier, first = facts_of[purchase.member_id]
            is_first = first is None or (purchase.occurred_at, purchase.pk) <= first
            facts = tier_facts(tier, joined_on=program_date(member.joined_at), first_purchase=is_first)
            basket = basket_of(purchase)
            baseline = tuple(
                engine_campaign(other, member_in_list=(other.pk, member.pk) in listed) for other in others
            )
            period = cap_period_start(draft.cap_period, purchase.occurred_at)
            added = engine_campaign(
                draft,
                member_in_list=(draft.pk, member.pk) in listed,
                member_cap_used=cap_used.get((member.pk, period), 0),
                budget_left=budget_left,
            )
            without = engine.evaluate_purchase(basket, program=program, member=facts, campaigns=baseline)
            with_it = engine.evaluate_purchase(basket, program=program, member=facts, campaigns=(*baseline, added))
            report.purchases_evaluated += 1
            given = with_it.campaign_points().get(draft.pk, 0)
            report.points_cut += sum(note.points_cut for note in with_it.notes if note.campaign_id == draft.pk)
            report.net_points += with_it.points - without.points
            if given <= 0:
                continue
            report.points += given
            report.purchases_matched += 1
            report.members.add(member.pk)
            cap_used[(member.pk, period)] = cap_used.get((member.pk, period), 0) + given
            if budget_left is not None:
                budget_left -= given
    report.members_reached = len(report.members)
    return report
