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

Details the order above leaves open, as the engine does them:

- All arithmetic is exact: money in ``Decimal`` (a private context of 60 digits that raises
  rather than round), shares on integers over a common denominator; every share is made by
  ``apportion``'s algorithm (largest remainder, ties to the earlier line).
- A line whose paid amount is zero or negative (fully discounted) earns nothing and takes part
  in no rule: it neither counts towards a basket's amount or a quantity nor takes a share. A
  line's discount above its price takes no share of the basket's discount (its weight is 0);
  ``Result.paid_amounts`` keeps the exact, possibly negative, figures (and the lines' own when
  no line has a positive amount to take the basket's discount).
- A rule matches a line when it names neither SKUs nor categories, or when the line's SKU is
  in ``skus`` or its category in ``categories`` (either). Its lines are its matching lines that
  are paid and still open; a basket bonus's amount and a quantity bonus's quantity count only
  those lines.
- A multiplier's extra and the tier's extra are counted on each line's exact base
  (``paid amount * rate``, before rounding), then floored for the rule and shared like the base.
  A factor of 1 or less adds nothing (never negative points) but still applies, so an exclusive
  one closes its lines.
- Rules run in the order ``(-priority, rule id, campaign id)``: the result does not depend on
  the order of the campaigns given.
- Caps and budgets come after exclusivity: a campaign cut to zero by its cap or budget still
  closed its lines to the rules after it. The cap is cut first (note ``member_cap``), then the
  budget (note ``budget_spent``); a campaign with nothing left gets a note of all it would have
  given.
- Audience: ``joined_after`` is included (joined on that day or later), ``joined_before``
  excluded (joined before that day); a member with no ``joined_on`` is outside any such bound.
  A campaign with a partner or channel list excludes a purchase with no partner or channel.
- Hours: ``start_time`` included, ``end_time`` excluded; an end before the start runs past
  midnight and its hours after midnight belong to the day it started ("Friday 22:00-02:00"
  includes Saturday 01:00, not Friday 01:00); an end equal to the start is a window that never
  opens (the admin form should refuse it). Only a start or only an end bounds one side.
- Speed: what the engine derives from a program's overrides (an index by SKU, category and
  partner) and from a campaign (its rules by kind) is kept while the same object is passed
  again; an import should build its ``Program`` and ``Campaign`` objects once, not per row.
- An event's campaigns see the event's ``channel`` (empty unless given); an event rule matches
  when its ``event_type`` equals the event's type; an exclusive one closes the event to the
  event rules after it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from functools import lru_cache
from math import lcm
from zoneinfo import ZoneInfo

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
    params: dict = field(default_factory=dict)  # {"campaign": name}, and for a cap its "cap" and "period"


@dataclass(frozen=True)
class Result:
    paid_amounts: tuple[Decimal, ...]  # per line, what the member paid (step 1)
    awards: tuple[Award, ...]
    notes: tuple[Note, ...] = ()

    @property
    def points(self) -> int:
        return sum(award.points for award in self.awards)

    def breakdown(self) -> tuple[Award, ...]:
        """The awards summed over the lines, one per source, rule and reason (with the same
        parameters), in the order they were earned: what the API's breakdown and the portal show
        ("Base: 120, Double points weekend: 120, Gold multiplier: 24"); ``line`` is ``None``."""
        rows: dict[tuple, list] = {}
        for award in self.awards:
            key = (award.source, award.rule_id, award.campaign_id, award.reason, tuple(sorted(award.params.items())))
            row = rows.get(key)
            if row is None:
                rows[key] = [award, award.points]
            else:
                row[1] += award.points
        return tuple(
            Award(
                award.source,
                total,
                rule_id=award.rule_id,
                campaign_id=award.campaign_id,
                reason=award.reason,
                params=dict(award.params),
            )
            for award, total in rows.values()
        )

    def campaign_points(self) -> dict[int, int]:
        """Points per campaign (for budgets and caps)."""
        totals: dict[int, int] = {}
        for award in self.awards:
            if award.campaign_id is not None:
                totals[award.campaign_id] = totals.get(award.campaign_id, 0) + award.points
        return totals


# Reason codes of awards and notes (``campaigns.reasons`` renders them); a campaign award's
# reason is its rule's kind.
REASON_BASE = "base"
REASON_RATE_OVERRIDE = "rate_override"
REASON_EVENT = "event"
REASON_TIER = "tier_multiplier"
REASON_MEMBER_CAP = "member_cap"
REASON_BUDGET_SPENT = "budget_spent"

PURCHASE_KINDS = frozenset({MULTIPLIER, FIRST_PURCHASE_BONUS, BASKET_BONUS, QUANTITY_BONUS})
EVENT_KINDS = frozenset({EVENT_POINTS})

_ZERO = Decimal(0)
_ONE = Decimal(1)
# Exact or nothing: an operation that would round raises instead of earning a wrong point.
_EXACT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])


# --- Helpers --------------------------------------------------------------------------------


def apportion(total: int, weights: Sequence[Decimal | int]) -> list[int]:
    """Share ``total`` whole units over ``weights`` in proportion: each gets the floor of its exact
    quota ``total * weight / sum``, and the units left go one each to the largest remainders
    (ties to the earlier one). The shares add up to ``total``; a weight of zero or less gets
    nothing. Raises ``ValueError`` for a negative total, or a positive one with no positive weight.

    Every share the engine makes (money of a discount in cents, base, multipliers, bonuses, the
    tier) is this one function, on the weights as integers over a common denominator.
    """
    return _share(total, _integers(weights))


def _integers(values: Sequence[Decimal | int]) -> list[int]:
    """Values as integers in one common unit (exact: their least common denominator); zero or
    less becomes 0."""
    ratios = [value.as_integer_ratio() if value > _ZERO else (0, 1) for value in values]
    common = lcm(*[denominator for _, denominator in ratios])
    return [numerator * (common // denominator) for numerator, denominator in ratios]


def _share(total: int, weights: list[int]) -> list[int]:
    """``apportion`` on integer weights, none negative (integers: a Decimal's ``divmod`` and
    ``int`` cost five times as much, and the engine shares a dozen times per purchase)."""
    if total <= 0:
        if total < 0:
            raise ValueError("a negative total cannot be shared")
        return [0] * len(weights)
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("nothing to share the total over")
    if len(weights) == 1:
        return [total]
    shares = []
    remainders = []
    for weight in weights:
        quotient, remainder = divmod(total * weight, whole)
        shares.append(quotient)
        remainders.append(remainder)
    left = total - sum(shares)
    if left:
        # A stable sort keeps equal remainders in line order, even reversed. A weight of 0 has a
        # remainder of 0 and is never reached: more than ``left`` weights have a remainder.
        for index in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:left]:
            shares[index] += 1
    return shares


@lru_cache(maxsize=4096)
def _ratio(value: Decimal) -> tuple[int, int]:
    """A positive rate as ``(numerator, denominator)``; zero or less as ``(0, 1)``."""
    return value.as_integer_ratio() if value > _ZERO else (0, 1)


@lru_cache(maxsize=1024)
def _extra(factor: Decimal) -> tuple[int, int]:
    """What a factor adds, ``factor - 1``, as a ratio; ``(0, 1)`` for a factor of 1 or less."""
    return _ratio(factor - _ONE)


@lru_cache(maxsize=1024)
def number_text(value: Decimal) -> str:
    """A decimal as the breakdown's parameters write it: no exponent, no trailing zeros ("2", "1.25")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_new = object.__new__
_set = object.__setattr__


def _award(source: str, points: int, line, rule_id, campaign_id, reason: str, params: dict) -> Award:
    """``Award(...)`` without the frozen dataclass's ``__setattr__`` per field (a third of the
    cost): the engine makes a dozen per purchase (the tests hold both equal)."""
    award = _new(Award)
    _set(
        award,
        "__dict__",
        {
            "source": source,
            "points": points,
            "line": line,
            "rule_id": rule_id,
            "campaign_id": campaign_id,
            "reason": reason,
            "params": params,
        },
    )
    return award


class _IdentityCache:
    """What the engine derives from an immutable input (a program's overrides, a campaign's
    rules), kept while the very same object is passed again (an import passes one program and
    the same campaigns 100,000 times). Holding the object keeps its ``id`` from being reused."""

    def __init__(self, size: int):
        self.size = size
        self.entries: dict[int, tuple] = {}

    def get(self, key_object, build):
        entry = self.entries.get(id(key_object))
        if entry is not None and entry[0] is key_object:
            return entry[1]
        value = build(key_object)
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[id(key_object)] = (key_object, value)
        return value


@lru_cache(maxsize=64)
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("occurred_at must be an aware datetime")
    return moment


# --- Step 1: what was paid --------------------------------------------------------------------


def _paid_amounts(basket: Basket) -> list[Decimal]:
    gross = [line.quantity * line.unit_price - line.discount for line in basket.lines]
    taken = basket.discount + basket.points_amount
    if not taken:
        return gross
    if taken < 0:
        raise ValueError("a basket's discount and points amount cannot be negative")
    if not any(amount > _ZERO for amount in gross):
        return gross  # no line to take them: nothing earns anyway
    exponent = min(taken.as_tuple().exponent, -2)  # cents, or finer when the amount is finer
    unit = _ONE.scaleb(exponent)
    shares = _share(int(taken.scaleb(-exponent)), _integers(gross))
    return [amount - share * unit if share else amount for amount, share in zip(gross, shares, strict=True)]


# --- Step 2: base -----------------------------------------------------------------------------


def _override_index(overrides: tuple[RateOverride, ...]) -> tuple[dict, dict]:
    """``(sku, category, partner_id)`` -> the override of that key with the lowest id; and an
    empty memo of the best override per line key."""
    index: dict = {}
    for override in sorted(overrides, key=lambda o: o.id):
        index.setdefault((override.sku, override.category, override.partner_id), override)
    return index, {}


_override_indexes = _IdentityCache(64)


def _line_override(index: dict, memo: dict, sku: str, category: str, partner_id: int | None) -> RateOverride | None:
    """The most specific override for a line: keys are tried from score 7 (SKU 4 + category 2 +
    partner 1) down to 0, so the first found wins (equal keys were settled by the lower id)."""
    key = (sku, category, partner_id)
    if key in memo:
        return memo[key]
    found = None
    for candidate in (
        (sku, category, partner_id),
        (sku, category, None),
        (sku, "", partner_id),
        (sku, "", None),
        ("", category, partner_id),
        ("", category, None),
        ("", "", partner_id),
        ("", "", None),
    ):
        found = index.get(candidate)
        if found is not None:
            break
    if len(memo) >= 100_000:
        memo.clear()
    memo[key] = found
    return found


# --- Campaign window and audience -------------------------------------------------------------


def _in_hours(campaign: Campaign, local: datetime) -> bool:
    moment = local.time()
    day = local.weekday()
    start, end = campaign.start_time, campaign.end_time
    if start is not None and end is not None:
        if start < end:
            if not start <= moment < end:
                return False
        elif end < start:
            if moment < end:
                day = (day - 1) % 7  # the hours after midnight belong to the day the window opened
            elif moment < start:
                return False
        else:
            return False  # an empty window
    elif start is not None:
        if moment < start:
            return False
    elif end is not None and moment >= end:
        return False
    return not campaign.weekdays or day in campaign.weekdays


class _Moment:
    """The occurred_at of one evaluation, converted to the program's time once, when first needed."""

    __slots__ = ("at", "local", "zone")

    def __init__(self, at: datetime, zone: str):
        self.at = at
        self.zone = zone
        self.local = None

    def in_program_time(self) -> datetime:
        if self.local is None:
            self.local = self.at.astimezone(_zone(self.zone))
        return self.local


def _applies(campaign: Campaign, moment: _Moment, partner_id: int | None, channel: str, member: MemberFacts) -> bool:
    if campaign.member_in_list is False:
        return False
    if campaign.partner_ids and partner_id not in campaign.partner_ids:
        return False
    if campaign.channels and channel not in campaign.channels:
        return False
    if campaign.tier_ids and member.tier_id not in campaign.tier_ids:
        return False
    joined = member.joined_on
    if campaign.joined_after is not None and (joined is None or joined < campaign.joined_after):
        return False
    if campaign.joined_before is not None and (joined is None or joined >= campaign.joined_before):
        return False
    at = moment.at
    if campaign.starts_at is not None and at < campaign.starts_at:
        return False
    if campaign.ends_at is not None and at >= campaign.ends_at:
        return False
    if campaign.weekdays or campaign.start_time is not None or campaign.end_time is not None:
        return _in_hours(campaign, moment.in_program_time())
    return True


def campaign_applies(
    campaign: Campaign,
    *,
    occurred_at: datetime,
    partner_id: int | None,
    channel: str,
    member: MemberFacts,
    program: Program,
) -> bool:
    """Whether the campaign's window and audience include this moment, partner, channel and member
    (days and hours in the program's time zone; ``joined_after`` included, ``joined_before``
    excluded; see the module docstring)."""
    return _applies(campaign, _Moment(_aware(occurred_at), program.time_zone), partner_id, channel, member)


def campaign_may_earn(campaign: Campaign, basket: Basket) -> bool:
    """Whether one of the campaign's purchase rules matches a line of ``basket`` (it names no SKU or
    category, or a line's): without one the campaign gives the basket nothing, whatever its caps and
    budget, so its caller need not read them. A quick test, not the evaluation: it may say yes to a
    campaign that then gives nothing (a basket under a bonus's amount)."""
    for rule in _campaign_rules.get(campaign, _split_rules)[False]:
        if not rule.skus and not rule.categories:
            return True
        for line in basket.lines:
            if line.sku in rule.skus or line.category in rule.categories:
                return True
    return False


def _split_rules(campaign: Campaign) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    """A campaign's purchase rules and its event rules."""
    return (
        tuple(rule for rule in campaign.rules if rule.kind in PURCHASE_KINDS),
        tuple(rule for rule in campaign.rules if rule.kind in EVENT_KINDS),
    )


_campaign_rules = _IdentityCache(4096)


def _rules_in_order(
    campaigns: tuple[Campaign, ...], events: bool, moment: _Moment, partner_id, channel: str, member: MemberFacts
) -> list[tuple[Campaign, Rule]]:
    """The purchase (or event) rules of the campaigns that apply: higher priority first, then the
    lower rule id (then the lower campaign id, should two campaigns share rule ids)."""
    rules = []
    for campaign in campaigns:
        if _applies(campaign, moment, partner_id, channel, member):
            for rule in _campaign_rules.get(campaign, _split_rules)[events]:
                rules.append((campaign, rule))
    if len(rules) > 1:
        rules.sort(key=lambda pair: (-pair[1].priority, pair[1].id, pair[0].id))
    return rules


# --- Step 4: caps and budgets -----------------------------------------------------------------


def _capped(shares: list[list], notes: list[Note]) -> list[Award]:
    """Cut each campaign's ``shares`` (``[campaign, rule, line, points, params]`` in the order they
    were earned) to its cap left, then its budget left, from the last share back; the awards left."""
    totals: dict[int, int] = {}
    campaigns: dict[int, Campaign] = {}
    for share in shares:
        campaign = share[0]
        totals[campaign.id] = totals.get(campaign.id, 0) + share[3]
        campaigns[campaign.id] = campaign
    for campaign_id in sorted(totals):
        campaign = campaigns[campaign_id]
        if campaign.member_cap is None and campaign.budget_left is None:
            continue
        total = totals[campaign_id]
        cap_cut = budget_cut = 0
        if campaign.member_cap is not None:
            cap_cut = max(total - max(campaign.member_cap - campaign.member_cap_used, 0), 0)
        if campaign.budget_left is not None:
            budget_cut = max(total - cap_cut - max(campaign.budget_left, 0), 0)
        if cap_cut:
            params = {"campaign": campaign.name, "cap": campaign.member_cap, "period": campaign.cap_period}
            notes.append(Note(campaign_id, REASON_MEMBER_CAP, cap_cut, params))
        if budget_cut:
            notes.append(Note(campaign_id, REASON_BUDGET_SPENT, budget_cut, {"campaign": campaign.name}))
        cut = cap_cut + budget_cut
        for share in reversed(shares):
            if not cut:
                break
            if share[0].id == campaign_id:
                taken = min(share[3], cut)
                share[3] -= taken
                cut -= taken
    return [
        _award(CAMPAIGN, points, line, rule.id, campaign.id, rule.kind, params)
        for campaign, rule, line, points, params in shares
        if points > 0
    ]


# --- Purchases ----------------------------------------------------------------------------------


def evaluate_purchase(
    basket: Basket, *, program: Program, member: MemberFacts, campaigns: tuple[Campaign, ...]
) -> Result:
    """The breakdown of what ``basket`` earns ``member`` (see the module docstring for the order)."""
    moment = _Moment(_aware(basket.occurred_at), program.time_zone)
    with localcontext(_EXACT):
        lines = basket.lines
        paid = _paid_amounts(basket)
        awards: list[Award] = []

        # Step 2: base. The exact base of line i is ``exact[i] / common`` (integers: see ``_share``).
        numerators: list[int] = []
        denominators: list[int] = []
        reasons: list[tuple[str, Decimal, int | None]] = []
        index = memo = None
        if program.overrides:
            index, memo = _override_indexes.get(program.overrides, _override_index)
        partner_id = basket.partner_id
        for line, amount in zip(lines, paid, strict=True):
            override = _line_override(index, memo, line.sku, line.category, partner_id) if index is not None else None
            if override is None:
                rate = program.points_per_unit
                reasons.append((REASON_BASE, rate, None))
            else:
                rate = override.points_per_unit
                reasons.append((REASON_RATE_OVERRIDE, rate, override.id))
            rate_numerator, rate_denominator = _ratio(rate)
            if rate_numerator and amount > _ZERO:
                amount_numerator, amount_denominator = amount.as_integer_ratio()
                numerators.append(amount_numerator * rate_numerator)
                denominators.append(amount_denominator * rate_denominator)
            else:
                numerators.append(0)
                denominators.append(1)
        common = lcm(*denominators)
        exact = [n * (common // d) for n, d in zip(numerators, denominators, strict=True)]
        exact_total = sum(exact)
        base_total = exact_total // common
        if base_total:
            for position, points in enumerate(_share(base_total, exact)):
                if points:
                    reason, rate, override_id = reasons[position]
                    params = {"rate": number_text(rate)}
                    if override_id is not None:
                        params["override"] = override_id
                    awards.append(_award(BASE, points, position, None, None, reason, params))

        # Step 3: campaign rules.
        notes: list[Note] = []
        rules = _rules_in_order(campaigns, False, moment, basket.partner_id, basket.channel, member)
        if rules:
            shares = _campaign_shares(rules, lines, paid, exact, common, member)
            # Step 4: caps and budgets.
            if shares:
                awards.extend(_capped(shares, notes))

        # Step 5: tier multiplier: its extra is proportional to the exact base, which shares it.
        if base_total:
            extra_numerator, extra_denominator = _extra(member.tier_multiplier)
            total = exact_total * extra_numerator // (common * extra_denominator)
            if total:
                factor = number_text(member.tier_multiplier)
                for position, points in enumerate(_share(total, exact)):
                    if points:
                        params = {"tier": member.tier_name, "factor": factor}
                        awards.append(_award(TIER, points, position, None, None, REASON_TIER, params))
    return Result(paid_amounts=tuple(paid), awards=tuple(awards), notes=tuple(notes))


def _campaign_shares(
    rules: list[tuple[Campaign, Rule]],
    lines: tuple[Line, ...],
    paid: list[Decimal],
    exact: list[int],
    common: int,
    member: MemberFacts,
) -> list[list]:
    """Step 3: each rule's points per line, ``[campaign, rule, line, points, params]`` in order."""
    shares: list[list] = []
    open_lines = [position for position, amount in enumerate(paid) if amount > _ZERO]
    paid_weights = None  # the paid amounts as integers, for the fixed bonuses' shares
    for campaign, rule in rules:
        if not open_lines:
            break
        if rule.skus or rule.categories:
            skus, categories = rule.skus, rule.categories
            mine = [p for p in open_lines if lines[p].sku in skus or lines[p].category in categories]
            if not mine:
                continue
        else:
            mine = open_lines
        kind = rule.kind
        if kind == MULTIPLIER:
            extra_numerator, extra_denominator = _extra(rule.multiplier)
            if extra_numerator:
                weights = [exact[p] for p in mine]
                total = sum(weights) * extra_numerator // (common * extra_denominator)
                if total:
                    factor = number_text(rule.multiplier)
                    for p, points in zip(mine, _share(total, weights), strict=True):
                        if points:
                            shares.append([campaign, rule, p, points, {"factor": factor, "campaign": campaign.name}])
        else:
            if kind == FIRST_PURCHASE_BONUS:
                if not member.first_purchase:
                    continue
                params = {"campaign": campaign.name}
            elif kind == BASKET_BONUS:
                if sum((paid[p] for p in mine), _ZERO) < rule.min_amount:
                    continue
                params = {"campaign": campaign.name, "min_amount": number_text(rule.min_amount)}
            else:  # QUANTITY_BONUS
                if sum((lines[p].quantity for p in mine), _ZERO) < rule.min_quantity:
                    continue
                params = {"campaign": campaign.name, "min_quantity": number_text(rule.min_quantity)}
            if rule.points > 0:
                if paid_weights is None:
                    paid_weights = _integers(paid)
                for p, points in zip(mine, _share(rule.points, [paid_weights[p] for p in mine]), strict=True):
                    if points:
                        shares.append([campaign, rule, p, points, dict(params)])
        if rule.exclusive:
            if kind == BASKET_BONUS or mine is open_lines:
                open_lines = []
            else:
                closed = set(mine)
                open_lines = [p for p in open_lines if p not in closed]
    return shares


# --- Events -------------------------------------------------------------------------------------


def evaluate_event(
    event_type: str,
    base_points: int,
    *,
    occurred_at: datetime,
    partner_id: int | None,
    program: Program,
    member: MemberFacts,
    campaigns: tuple[Campaign, ...],
    channel: str = "",
) -> Result:
    """What an event earns: the type's ``base_points`` (an award of source BASE) and the
    EVENT_POINTS rules for this type of the campaigns that apply, capped like purchases.
    No tier multiplier on events."""
    moment = _Moment(_aware(occurred_at), program.time_zone)
    awards: list[Award] = []
    if base_points > 0:
        awards.append(_award(BASE, base_points, None, None, None, REASON_EVENT, {"type": event_type}))
    shares: list[list] = []
    for campaign, rule in _rules_in_order(campaigns, True, moment, partner_id, channel, member):
        if rule.event_type != event_type:
            continue
        if rule.points > 0:
            shares.append([campaign, rule, None, rule.points, {"campaign": campaign.name, "type": event_type}])
        if rule.exclusive:
            break
    notes: list[Note] = []
    if shares:
        awards.extend(_capped(shares, notes))
    return Result(paid_amounts=(), awards=tuple(awards), notes=tuple(notes))
