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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import OuterRef, Prefetch, Q, Subquery

from loyalty.clock import program_date, program_timezone
from members.models import Member
from members.tiers.models import MemberTier, Tier

from . import engine, selectors
from .breakdown import award_label, breakdown_labels, localized, localized_params
from .models import (
    Campaign,
    CampaignMember,
    CampaignStatus,
    CampaignUsage,
    Outcome,
    Purchase,
    PurchaseLine,
    Rule,
)
from .reasons import reason_label
from .services import cap_period_start

DRY_RUN_BATCH = 500


# Rows as the engine sees them (the purchase path's own conversions, ``campaigns.selectors``)


def engine_campaigns_get(queryset) -> list[tuple[Campaign, engine.Campaign]]:
    """The campaigns of ``queryset`` with their rules, tiers and partners, for the engine, in id order.

    Four queries whatever their number. Their dates are not filtered here: the engine checks
    each purchase's moment (``engine.campaign_applies``). ``member_in_list`` is ``False`` for a
    listed campaign and ``member_cap_used`` 0 until the caller fills them; ``budget_left`` is
    read from the row as it stands (no lock).
    """
    rules = Prefetch("rules", queryset=Rule.objects.select_related("event_type").order_by("-priority", "pk"))
    rows = Campaign.objects.filter(pk__in=queryset.values("pk")).prefetch_related(rules, "tiers", "partners")
    return [
        (
            row,
            selectors.campaign_for_engine(
                row,
                rules=[selectors.rule_for_engine(rule) for rule in row.rules.all()],
                tier_ids=[tier.pk for tier in row.tiers.all()],
                partner_ids=[partner.pk for partner in row.partners.all()],
            ),
        )
        for row in rows.order_by("pk")
    ]


def live_campaigns_get(*, exclude_id: int | None = None) -> list[tuple[Campaign, engine.Campaign]]:
    """The active campaigns (``engine_campaigns_get``), without the one being tried out."""
    queryset = Campaign.objects.filter(status=CampaignStatus.ACTIVE)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return engine_campaigns_get(queryset)


def names_of(rows: Iterable[Campaign]) -> dict[int, tuple[str, str]]:
    return {row.pk: (row.name, row.name_fr) for row in rows}


def tier_names_get() -> dict[str, str]:
    """Each tier's name with its French one (the breakdown's parameters name a tier as it was named)."""
    return dict(Tier.objects.values_list("name", "name_fr"))


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


# The simulator


@dataclass(frozen=True)
class Row:
    line: int | None  # 1-based, for reading
    sku: str
    label: str
    points: int


@dataclass(frozen=True)
class Simulation:
    result: engine.Result
    rows: tuple[Row, ...]
    summary: tuple[str, ...]
    notes: tuple[str, ...]
    paid: tuple[tuple[str, Decimal], ...]  # per line: SKU, what was paid
    points: int
    campaigns: tuple[str, ...]  # the campaigns it was evaluated against
    tier_name: str = ""

    @property
    def summary_text(self) -> str:
        return ", ".join(self.summary)


def _simulation(
    result: engine.Result,
    *,
    basket: engine.Basket,
    campaign_names: dict[int, tuple[str, str]],
    facts: engine.MemberFacts,
    tier_names: dict[str, str],
) -> Simulation:
    labels = {"campaign_names": campaign_names, "tier_names": tier_names}
    rows = []
    for award in result.awards:
        line = basket.lines[award.line] if award.line is not None else None
        rows.append(
            Row(
                line=None if award.line is None else award.line + 1,
                sku=line.sku if line else "",
                label=award_label(award, **labels),
                points=award.points,
            )
        )
    notes = [
        reason_label(note.reason, {**localized_params(note, **labels), "points": note.points_cut})
        for note in result.notes
    ]
    return Simulation(
        result=result,
        rows=tuple(rows),
        summary=tuple(breakdown_labels(result.awards, **labels)),
        notes=tuple(notes),
        paid=tuple((line.sku, paid) for line, paid in zip(basket.lines, result.paid_amounts, strict=True)),
        points=result.points,
        campaigns=tuple(localized(*names) for names in campaign_names.values()),
        tier_name=localized(facts.tier_name, tier_names.get(facts.tier_name, "")) if facts.tier_name else "",
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

    The live campaigns take part with their budgets as they stand and the member's caps as
    used so far; with ``extra_campaign`` (a draft), that campaign counts as live. A fixed
    number of queries, whatever the number of campaigns.
    """
    live = live_campaigns_get(exclude_id=extra_campaign.pk if extra_campaign else None)
    if extra_campaign is not None:
        live += engine_campaigns_get(Campaign.objects.filter(pk=extra_campaign.pk))
    ids = [row.pk for row, _campaign in live]
    if member is not None:
        facts = selectors.member_facts_get(member=member)
        listed = set(
            CampaignMember.objects.filter(member=member, campaign_id__in=ids).values_list("campaign_id", flat=True)
        )
        used = {
            (campaign_id, start): points
            for campaign_id, start, points in CampaignUsage.objects.filter(
                member=member, campaign_id__in=ids
            ).values_list("campaign_id", "period_start", "points")
        }
    else:
        facts, listed, used = tier_facts(tier, first_purchase=first_purchase), set(), {}
    campaigns = tuple(
        replace(
            campaign,
            member_in_list=(campaign.id in listed) if campaign.member_in_list is not None else None,
            member_cap_used=used.get((campaign.id, cap_period_start(campaign.cap_period, basket.occurred_at)), 0),
        )
        for _row, campaign in live
    )
    program = selectors.earning_program_get()
    result = engine.evaluate_purchase(basket, program=program, member=facts, campaigns=campaigns)
    return _simulation(
        result,
        basket=basket,
        campaign_names=names_of(row for row, _campaign in live),
        facts=facts,
        tier_names=tier_names_get(),
    )


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
    """Each member, their tier of today, and their first purchase that earned ((occurred_at, id)): two queries."""
    earned = Purchase.objects.filter(member=OuterRef("pk"), outcome=Outcome.EARNED).order_by("occurred_at", "pk")
    members = list(
        Member.objects.filter(pk__in=list(member_ids)).annotate(
            first_earned_at=Subquery(earned.values("occurred_at")[:1]),
            first_earned_id=Subquery(earned.values("pk")[:1]),
        )
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

    Read only and lock-free. The purchases are read ``DRY_RUN_BATCH`` at a time, oldest
    first (a fixed number of queries a batch); each is evaluated with the other active
    campaigns, then with ``campaign`` too. The campaign's budget and per-member caps are
    replayed in the order of the purchases, from what it has given so far.
    """
    since = now - timedelta(days=days)
    report = DryRun(since=since, until=now, point_value=point_value(), currency=settings.LOYALTY_CURRENCY)
    program = selectors.earning_program_get()
    others = [engine_campaign for _row, engine_campaign in live_campaigns_get(exclude_id=campaign.pk)]
    ((_row, draft),) = engine_campaigns_get(Campaign.objects.filter(pk=campaign.pk))
    list_ids = [other.id for other in [*others, draft] if other.member_in_list is not None]
    budget_left = draft.budget_left
    cap_used: dict[tuple[int, date], int] = {}
    for batch in _purchase_batches(since=since, until=now):
        member_ids = {purchase.member_id for purchase in batch}
        facts_of = _members_facts(member_ids)
        listed = set(
            CampaignMember.objects.filter(campaign_id__in=list_ids, member_id__in=member_ids).values_list(
                "campaign_id", "member_id"
            )
        )
        for purchase in batch:
            member, tier, first = facts_of[purchase.member_id]
            is_first = first is None or (purchase.occurred_at, purchase.pk) <= first
            facts = tier_facts(tier, joined_on=program_date(member.joined_at), first_purchase=is_first)
            basket = basket_of(purchase)
            baseline = tuple(_for_member(other, member.pk, listed) for other in others)
            period = cap_period_start(draft.cap_period, purchase.occurred_at)
            added = replace(
                _for_member(draft, member.pk, listed),
                member_cap_used=cap_used.get((member.pk, period), 0),
                budget_left=budget_left,
            )
            without = engine.evaluate_purchase(basket, program=program, member=facts, campaigns=baseline)
            with_it = engine.evaluate_purchase(basket, program=program, member=facts, campaigns=(*baseline, added))
            report.purchases_evaluated += 1
            report.points_cut += sum(note.points_cut for note in with_it.notes if note.campaign_id == draft.id)
            report.net_points += with_it.points - without.points
            given = with_it.campaign_points().get(draft.id, 0)
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


def _for_member(campaign: engine.Campaign, member_id: int, listed: set[tuple[int, int]]) -> engine.Campaign:
    if campaign.member_in_list is None:
        return campaign
    return replace(campaign, member_in_list=(campaign.id, member_id) in listed)
