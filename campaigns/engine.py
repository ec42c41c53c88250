"""The earning engine: pure and deterministic. Given a purchase (or an event) and the rules, it
returns the breakdown of the points it earns; it reads no database and writes nothing.

The caller (``campaigns.services``) loads the rules, the member's facts and the caps' usage,
calls ``evaluate_purchase`` or ``evaluate_event``, and records the result (the ledger entry,
the awards per line, the budgets). The admin's simulator and dry run call the same functions.

Order of evaluation of a purchase (the README states it for staff):

1. **What was paid.** Each line's paid amount is ``quantity * unit_price - discount``; the
   basket's own discount and the part of the basket paid with points are shared over the
   lines in proportion to those amounts (cent by cent, largest remainder first). Only the
   paid amount earns.
2. **Base.** Each line earns ``paid amount * rate``, the rate being the most specific
   override that matches (SKU beats category beats partner: a score of 4, 2, 1 summed; ties
   by the lower id), else the program's base rate. The basket's base points are the exact
   sum rounded **down**; the whole points are shared over the lines by largest remainder
   (ties to the earlier line), so the lines add up to the basket.
3. **Campaign rules**, in order of ``priority`` (higher first, ties by the lower rule id),
   only those whose campaign applies (dates, days of week, hours in the program's time zone,
   audience, partner, channel). A multiplier adds ``base * (factor - 1)`` on its matching
   lines (all lines when it names no SKU or category), shared over them like the base. A fixed
   bonus (first purchase, basket of at least an amount, at least N of a SKU or category) adds
   its points, shared over its matching lines in proportion to their paid amounts. An
   **exclusive** rule that applies closes its lines to every rule after it (a basket bonus
   closes the whole basket); a rule whose lines are all closed does not apply.
4. **Caps and budgets**, per campaign, after its rules: the campaign's points are cut to the
   member's cap left for the period and to the budget left, taken back from its last rules
   first (and within a rule from the last lines first). A cut is said in the breakdown.
5. **Tier multiplier** last: the member's tier adds ``base * (multiplier - 1)``, shared like a
   multiplier. It multiplies the base only, not campaign points, and is not capped.

Everything is whole points per line, so a return reverses exactly what its lines earned.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

# Where an award comes from.
BASE = "base"
CAMPAIGN = "campaign"
TIER = "tier"

# Rule kinds (campaigns.models.RuleKind mirrors them).
MULTIPLIER = "multiplier"
FIRST_PURCHASE_BONUS = "first_purchase_bonus"
BASKET_BONUS = "basket_bonus"
QUANTITY_BONUS = "quantity_bonus"
EVENT_POINTS = "event_points"

# Cap periods.
PER_DAY = "day"
PER_WEEK = "week"
PER_CAMPAIGN = "campaign"


@dataclass(frozen=True)
class Line:
    sku: str
    category: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)


@dataclass(frozen=True)
class Basket:
    """A purchase as the engine sees it. ``occurred_at`` is aware; ``points_amount`` is the money paid with points."""

    lines: tuple[Line, ...]
    occurred_at: datetime
    partner_id: int | None = None
    channel: str = ""
    discount: Decimal = Decimal(0)
    points_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class RateOverride:
    id: int
    points_per_unit: Decimal
    partner_id: int | None = None
    category: str = ""
    sku: str = ""


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    priority: int = 0
    exclusive: bool = False
    multiplier: Decimal = Decimal(1)  # MULTIPLIER
    points: int = 0  # the fixed bonus, or EVENT_POINTS' points
    skus: frozenset[str] = frozenset()  # lines it matches; none of both: every line
    categories: frozenset[str] = frozenset()
    min_amount: Decimal = Decimal(0)  # BASKET_BONUS: paid amount of the basket (of its matching lines)
    min_quantity: Decimal = Decimal(0)  # QUANTITY_BONUS: quantity of its matching lines
    event_type: str = ""  # EVENT_POINTS


@dataclass(frozen=True)
class Campaign:
    """A campaign as the engine sees it: when and to whom it applies, its rules, its caps.

    ``starts_at``/``ends_at`` are aware (end excluded); ``weekdays`` 0 = Monday; hours are the
    program's local time, ``start_time`` included, ``end_time`` excluded (an end before the start
    runs past midnight). Empty sets mean "any". ``member_in_list`` is precomputed by the caller
    (``None``: the campaign has no member list).
    """

    id: int
    name: str
    rules: tuple[Rule, ...]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    weekdays: frozenset[int] = frozenset()
    start_time: time | None = None
    end_time: time | None = None
    tier_ids: frozenset[int] = frozenset()
    partner_ids: frozenset[int] = frozenset()
    channels: frozenset[str] = frozenset()
    joined_after: date | None = None
    joined_before: date | None = None
    member_in_list: bool | None = None
    member_cap: int | None = None  # points per member per ``cap_period``
    cap_period: str = PER_CAMPAIGN
    member_cap_used: int = 0  # what the member already got in the current period (the caller sums it)
    budget_left: int | None = None  # None: no budget


@dataclass(frozen=True)
class MemberFacts:
    tier_id: int | None = None
    tier_name: str = ""
    tier_multiplier: Decimal = Decimal(1)
    joined_on: date | None = None  # program day
    first_purchase: bool = False  # no earlier purchase that earned


@dataclass(frozen=True)
class Program:
    points_per_unit: Decimal
    time_zone: str
    overrides: tuple[RateOverride, ...] = ()


@dataclass(frozen=True)
class Award:
    """Points for one line (``line`` index; ``None`` for an event) from one source."""

    source: str  # BASE, CAMPAIGN, TIER
    points: int
    line: int | None = None
    rule_id: int | None = None
    campaign_id: int | None = None
    reason: str = ""  # a code (see ``campaigns.reasons``)
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """Something the breakdown explains that earned nothing: a cap or a budget that cut a campaign."""

    campaign_id: int
    reason: str  # "member_cap", "budget_spent"
    points_cut: int


@dataclass(frozen=True)
class Result:
    paid_amounts: tuple[Decimal, ...]  # per line, what the member paid (step 1)
    awards: tuple[Award, ...]
    notes: tuple[Note, ...] = ()

    @property
    def points(self) -> int:
        return sum(award.points for award in self.awards)

    def campaign_points(self) -> dict[int, int]:
        """Points per campaign (for budgets and caps)."""
        totals: dict[int, int] = {}
        for award in self.awards:
            if award.campaign_id is not None:
                totals[award.campaign_id] = totals.get(award.campaign_id, 0) + award.points
        return totals


def evaluate_purchase(basket: Basket, *, program: Program, member: MemberFacts, campaigns: tuple[Campaign, ...]):
    """The breakdown of what ``basket`` earns ``member`` (see the module docstring for the order)."""
    raise NotImplementedError


def evaluate_event(
    event_type: str,
    base_points: int,
    *,
    occurred_at: datetime,
    partner_id: int | None,
    program: Program,
    member: MemberFacts,
    campaigns: tuple[Campaign, ...],
) -> Result:
    """What an event earns: the type's ``base_points`` (an award of source BASE) and the
    EVENT_POINTS rules for this type of the campaigns that apply, capped like purchases.
    No tier multiplier on events."""
    raise NotImplementedError


def campaign_applies(campaign: Campaign, *, occurred_at: datetime, partner_id, channel: str, member, program) -> bool:
    """Whether the campaign's window and audience include this moment, partner, channel and member."""
    raise NotImplementedError
