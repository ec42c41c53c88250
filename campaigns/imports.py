"""Import of a partner's purchases from a CSV file, set-based in batches (``manage.py purchases_import``).

The file has one row per line item, with a header row naming at least these columns::

    external_id,member,occurred_at,amount,currency,channel,store,sku,category,quantity,unit_price

The rows of one purchase (the same ``external_id``) follow each other and repeat its
``member`` (a member number), ``occurred_at`` (ISO 8601 with its offset), ``amount`` (what
the basket cost, e.g. ``12.50``), ``currency``, ``channel`` and ``store``; each row adds an
item (``sku``, ``category``, ``quantity``, ``unit_price``). A purchase is checked like one
posted to the API (``campaigns/api.py``): the program's currency, an amount above zero, items
adding up to the amount within the policy's tolerance, a known member. A purchase that fails
is skipped whole and reported with its first line number (the header is line 1) and why; the
others are written. A purchase already imported (the same ``external_id`` for the partner)
is skipped and counted, so a file can be imported again safely.

How a batch (``batch_size`` purchases, one transaction) is written: the partner's row is
locked (two imports of one partner run one after the other), the members are found in one
query and their accounts locked in id order (``loyalty/ledger/lock_objects.py``), the
campaigns with a budget locked in id order, the members' facts read set-based (tiers,
qualifying totals, earlier purchases that earned, campaign lists, cap usage), the engine
(``campaigns/engine.py``, the API's engine) run per purchase in Python in file order,
carrying what each purchase changes (first purchase, caps, budgets, a tier reached) to the
member's next one; then the purchases, lines and awards are inserted in bulk
(``loyalty/bulk.py``) and the points credited by ``ledger.credit_many``.

Members whose purchases take the API's own path, one purchase per transaction
(``campaigns.services.purchase_record``): a member whose account is in debt (the credit
pays the debt first) and a member with an open referral (the first purchase may pay the
referral). A suspended or closed member's purchase is recorded, with why it earned nothing.
"""

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from loyalty import bulk
from loyalty.clock import program_date
from loyalty.exceptions import (
    ExternalIdConflict,
    InvalidMemberNumber,
    LoyaltyError,
    MemberMerged,
    NotFound,
    ValidationError,
)
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from loyalty.partners import lock_objects as partner_locks
from members.models import Member, MemberStatus
from members.numbers import member_number_clean
from members.referrals.models import Referral
from members.referrals.services import OPEN_STATUSES as REFERRAL_OPEN_STATUSES
from members.tiers import rules as tier_rules
from members.tiers.models import MemberTier, QualifyingDay, Tier, TierPolicy
from members.tiers.services import qualifying_record_many
from missions.streaks.services import activity_record_many

from . import engine, lock_objects, selectors, services
from .models import (
    Award,
    Campaign,
    CampaignMember,
    CampaignStatus,
    CampaignUsage,
    CapPeriod,
    Outcome,
    Purchase,
    PurchaseLine,
    Rule,
)

COLUMNS = (
    "external_id", "member", "occurred_at", "amount", "currency", "channel", "store",
    "sku", "category", "quantity", "unit_price",
)  # fmt: skip
PURCHASE_COLUMNS = ("member", "occurred_at", "amount", "currency", "channel", "store")
BATCH_SIZE = 5000
CENT = Decimal("0.01")
ZERO_MONEY = Decimal("0.00")
MILLI = Decimal("0.001")


@dataclass(frozen=True)
class RowError:
    line: int
    code: str
    message: str
    external_id: str = ""


@dataclass
class ImportResult:
    purchases: int = 0  # written by this run, whatever they earned
    points: int = 0  # credited by this run
    earned: int = 0  # of the purchases, those that earned points
    not_earning: int = 0  # of them, recorded without points: the member is suspended or closed
    one_by_one: int = 0  # of them, written through the API's path (a debt, an open referral)
    already_imported: int = 0  # skipped: the partner's external id is imported already
    batches: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass
class _Purchase:
    line: int
    external_id: str
    member_number: str
    occurred_at: datetime
    amount: Decimal
    currency: str
    channel: str
    store: str
    items: list[tuple[str, str, Decimal, Decimal]]  # sku, category, quantity, unit_price


class _RowInvalid(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


# Reading and checking the rows.


def columns_check(header: Iterable[str] | None) -> None:
    """Refuse a file whose header lacks a column (``ValidationError``): nothing of it is read."""
    missing = [column for column in COLUMNS if column not in set(header or ())]
    if missing:
        raise ValidationError(f"The file has no column {', '.join(missing)}.", field="file")


def _groups(rows: Iterable[Mapping[str, str]]) -> Iterator[tuple[int, list[Mapping[str, str]]]]:
    """``(first line, rows)`` of each purchase: consecutive rows with one external id."""
    current, first, group = None, 0, []
    for number, row in enumerate(rows, start=2):
        external_id = (row.get("external_id") or "").strip()
        if group and external_id != current:
            yield first, group
            group = []
        if not group:
            current, first = external_id, number
        group.append(row)
    if group:
        yield first, group


def _decimal(value: str | None, name: str, places: Decimal) -> Decimal:
    try:
        number = Decimal((value or "").strip())
    except InvalidOperation:
        raise _RowInvalid("invalid", f"{name} is not a number: {value!r}.") from None
    if not number.is_finite() or number != number.quantize(places) or abs(number) >= 10**11:
        raise _RowInvalid("invalid", f"{name} has at most {abs(places.as_tuple().exponent)} decimals: {value!r}.")
    return number.quantize(places)


def _text(row: Mapping[str, str], name: str, max_length: int, *, required: bool = False) -> str:
    value = (row.get(name) or "").strip()
    if required and not value:
        raise _RowInvalid("invalid", f"{name} is required.")
    if len(value) > max_length:
        raise _RowInvalid("invalid", f"{name} is longer than {max_length} characters.")
    return value


def _parse(first: int, group: list[Mapping[str, str]], *, now: datetime, tolerance: Decimal) -> _Purchase:
    """One purchase from its rows, or ``_RowInvalid`` (its ``line`` attribute: the offending line)."""
    head = group[0]
    line = first
    try:
        external_id = _text(head, "external_id", 64, required=True)
        for offset, row in enumerate(group[1:], start=1):
            line = first + offset
            differs = [
                name for name in PURCHASE_COLUMNS if (row.get(name) or "").strip() != (head.get(name) or "").strip()
            ]
            if differs:
                raise _RowInvalid("invalid", f"The rows of one purchase differ in {', '.join(differs)}.")
        line = first
        try:
            number = member_number_clean(_text(head, "member", 32, required=True))
        except InvalidMemberNumber as error:
            raise _RowInvalid(InvalidMemberNumber.code, str(error.message)) from None
        occurred_at = parse_datetime((head.get("occurred_at") or "").strip())
        if occurred_at is None or timezone.is_naive(occurred_at):
            raise _RowInvalid("invalid", "occurred_at is a date and time with its offset (ISO 8601).")
        if occurred_at > now:
            raise _RowInvalid("invalid", "occurred_at is in the future.")
        amount = _decimal(head.get("amount"), "amount", CENT)
        if amount <= 0:
            raise _RowInvalid("invalid", "The amount is above zero.")
        currency = _text(head, "currency", 3, required=True).upper()
        if currency != settings.LOYALTY_CURRENCY:
            raise _RowInvalid("currency_mismatch", f"The program's currency is {settings.LOYALTY_CURRENCY}.")
        channel, store = _text(head, "channel", 32), _text(head, "store", 64)
        items = []
        for offset, row in enumerate(group):
            line = first + offset
            quantity = _decimal(row.get("quantity"), "quantity", MILLI)
            unit_price = _decimal(row.get("unit_price"), "unit_price", CENT)
            if quantity <= 0 or unit_price < 0:
                raise _RowInvalid("invalid", "The quantity is above zero and the unit price not below.")
            items.append((_text(row, "sku", 64, required=True), _text(row, "category", 64), quantity, unit_price))
        line = first
        total = sum((quantity * price for _sku, _category, quantity, price in items), Decimal(0))
        total = total.quantize(CENT, ROUND_HALF_UP)  # as the API rounds it
        if abs(total - amount) > tolerance:
            raise _RowInvalid("amount_mismatch", f"The items add up to {total.quantize(CENT)}, not {amount}.")
    except _RowInvalid as error:
        error.line = line
        raise
    return _Purchase(first, external_id, number, occurred_at, amount, currency, channel, store, items)


def _body_hash(purchase: _Purchase) -> str:
    """The hash the API stores for the same purchase (``services.purchase_record``): a purchase imported and
    then posted again is a repeat, not a conflict."""
    return services._hash(
        {
            "member": purchase.member_number,
            "occurred_at": purchase.occurred_at.astimezone(UTC).isoformat(),
            "amount": str(purchase.amount),
            "currency": purchase.currency,
            "channel": purchase.channel,
            "store": purchase.store,
            "discount_amount": str(ZERO_MONEY),
            "points_amount": str(ZERO_MONEY),
            "items": [
                [sku, category, str(quantity), str(price), str(ZERO_MONEY)]
                for sku, category, quantity, price in purchase.items
            ],
        }
    )


# The rules, loaded once per import.


@dataclass
class _Rules:
    program: engine.Program
    campaigns: list[engine.Campaign]
    periods: dict[int, str]  # campaign id -> cap period (every campaign: awards record their period)
    budgeted: list[int]  # campaign ids with a budget
    listed: list[int]  # campaign ids with a member list
    capped: list[int]  # campaign ids with a member cap
    varying: set[int]  # campaign ids the engine reads per member (a list, a cap, a budget)
    policy: TierPolicy
    tiers: list[Tier]


def _rules_load(partner) -> _Rules:
    """The program, the active campaigns that may give this partner's purchases points, the tiers.

    The API's converters (``selectors``); every active campaign whatever its dates: the engine
    checks each purchase's moment (``engine.campaign_applies``), as it checks days, hours,
    audience and channels.
    """
    program = selectors.earning_program_get()
    rows = list(Campaign.objects.filter(status=CampaignStatus.ACTIVE).order_by("pk"))
    ids = [row.pk for row in rows]
    rules: dict[int, list[engine.Rule]] = {}
    for rule in Rule.objects.filter(campaign_id__in=ids).select_related("event_type").order_by("-priority", "pk"):
        rules.setdefault(rule.campaign_id, []).append(selectors.rule_for_engine(rule))
    tiers = selectors._links(Campaign.tiers.through, "tier_id", ids)
    partners = selectors._links(Campaign.partners.through, "partner_id", ids)
    campaigns = [
        selectors.campaign_for_engine(row, rules=rules[row.pk], tier_ids=tiers.get(row.pk),
                                      partner_ids=partners.get(row.pk))
        for row in rows
        if row.pk in rules and (not partners.get(row.pk) or partner.pk in partners[row.pk])
    ]  # fmt: skip
    periods = {row.pk: row.cap_period for row in rows}
    return _Rules(
        program=program,
        campaigns=campaigns,
        periods={c.id: periods[c.id] for c in campaigns},
        budgeted=[c.id for c in campaigns if c.budget_left is not None],
        listed=[c.id for c in campaigns if c.member_in_list is not None],
        capped=[c.id for c in campaigns if c.member_cap],
        varying={c.id for c in campaigns if c.member_in_list is not None or c.member_cap or c.budget_left is not None},
        policy=TierPolicy.objects.filter(pk=1).first() or TierPolicy(pk=1),
        tiers=list(Tier.objects.all()),
    )


_PERIODS = (CapPeriod.DAY, CapPeriod.WEEK, CapPeriod.CAMPAIGN)


def _period_start(cap_period: str, day: date) -> date:
    """``services.cap_period_start`` from the program day already known."""
    if cap_period == CapPeriod.DAY:
        return day
    if cap_period == CapPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    return services.CAMPAIGN_PERIOD_START


# The import.


def purchases_import(
    *, partner, rows: Iterable[Mapping[str, str]], now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> ImportResult:
    """Import ``partner``'s purchases from CSV ``rows`` (dicts by column; the module docstring has the format).

    Each batch of ``batch_size`` purchases is one transaction: all of it or none. Bad
    purchases are skipped and reported (``ImportResult.errors``), never half-written;
    purchases already imported are skipped, so a run can be repeated. Locks the partner,
    the batch's accounts (id order), then the budgeted campaigns (id order): the API's order.
    Campaign budgets are never exceeded.
    """
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValidationError("Give a time with its time zone.", field="now")
    tolerance = selectors.earning_policy_get().amount_tolerance
    rules = _rules_load(partner)
    result = ImportResult()
    seen: set[str] = set()
    batch: list[_Purchase] = []
    for first, group in _groups(rows):
        try:
            purchase = _parse(first, group, now=now, tolerance=tolerance)
        except _RowInvalid as error:
            result.errors.append(RowError(error.line, error.code, error.message, (group[0].get("external_id") or "")))
            continue
        if purchase.external_id in seen:
            result.errors.append(
                RowError(first, "duplicate_external_id", "The rows of this purchase do not follow each other, or it "
                         "appears twice in the file.", purchase.external_id)
            )  # fmt: skip
            continue
        seen.add(purchase.external_id)
        batch.append(purchase)
        if len(batch) >= batch_size:
            _batch_import(partner, batch, rules, now, result)
            batch = []
    if batch:
        _batch_import(partner, batch, rules, now, result)
    result.errors.sort(key=lambda error: error.line)
    return result


@dataclass
class _Batch:
    """What one batch writes, gathered while the engine runs."""

    purchases: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)  # with "purchase_index"
    awards: list[tuple[int, int, dict]] = field(default_factory=list)  # (purchase index, line index, row)
    credits: list[tuple] = field(default_factory=list)  # (purchase index, account id, points, available_at, spend)
    spends: list[tuple[int, int, Decimal]] = field(default_factory=list)  # (member, 0, spend): earned nothing
    usage: dict[tuple[int, int, date], int] = field(default_factory=dict)
    awarded: dict[int, int] = field(default_factory=dict)  # campaign id -> points


def _batch_import(partner, batch: list[_Purchase], rules: _Rules, now: datetime, result: ImportResult) -> None:
    one_by_one: list[_Purchase] = []
    with transaction.atomic():
        partner_locks.partner_for_update(partner.pk)
        batch = _not_imported(partner, batch, result)
        members = {
            number: (member_id, program_date(joined_at), merged_into, account_id)
            for number, member_id, joined_at, merged_into, account_id in Member.objects.filter(
                member_number__in={p.member_number for p in batch}
            ).values_list("member_number", "pk", "joined_at", "merged_into_id", "account__id")
        }
        known = []
        for purchase in batch:
            found = members.get(purchase.member_number)
            if found is None:
                result.errors.append(RowError(purchase.line, NotFound.code, "No member has this number.",
                                              purchase.external_id))  # fmt: skip
            elif found[2] is not None:
                result.errors.append(RowError(purchase.line, MemberMerged.code, "This member was merged into another.",
                                              purchase.external_id))  # fmt: skip
            else:
                known.append(purchase)
        account_ids = {members[p.member_number][3] for p in known}
        accounts = {a.pk: a for a in ledger_locks.account_rows_for_update(account_ids)}
        member_ids = sorted({members[p.member_number][0] for p in known})
        apart = _members_apart(member_ids, accounts)
        budgets = _budgets_lock(rules.budgeted)
        facts = _facts(member_ids, rules, now)
        out = _Batch()
        for purchase in known:
            member_id, joined_on, _merged, account_id = members[purchase.member_number]
            if member_id in apart:
                one_by_one.append(purchase)
                continue
            status = accounts[account_id].member_status
            _evaluate(purchase, partner, member_id, joined_on, account_id, status, rules, facts, budgets, now, out)
        _write(partner, out, now)
        result.batches += 1
        result.purchases += len(out.purchases)
        result.earned += sum(row["outcome"] == Outcome.EARNED for row in out.purchases)
        result.not_earning += sum(row["outcome"] in (Outcome.MEMBER_SUSPENDED, Outcome.MEMBER_CLOSED)
                                  for row in out.purchases)  # fmt: skip
        result.points += sum(row["points"] for row in out.purchases)
    for purchase in one_by_one:
        _import_one(partner, purchase, now, result)


def _not_imported(partner, batch: list[_Purchase], result: ImportResult) -> list[_Purchase]:
    """The batch less the purchases already imported (counted) and the external ids taken by other content."""
    hashes = dict(
        Purchase.objects.filter(partner=partner, external_id__in=[p.external_id for p in batch]).values_list(
            "external_id", "body_hash"
        )
    )
    kept = []
    for purchase in batch:
        if purchase.external_id not in hashes:
            kept.append(purchase)
        elif hashes[purchase.external_id] == _body_hash(purchase):
            result.already_imported += 1
        else:
            result.errors.append(
                RowError(purchase.line, ExternalIdConflict.code, "A purchase with this external id and other "
                         "content is recorded already.", purchase.external_id)
            )  # fmt: skip
    return kept


def _members_apart(member_ids: list[int], accounts: dict) -> set[int]:
    """Members whose purchases take the API's path: an active member in debt, an open referral."""
    apart = {a.member_id for a in accounts.values() if a.debt and a.member_status == MemberStatus.ACTIVE}
    apart.update(
        Referral.objects.filter(referee_id__in=member_ids, status__in=REFERRAL_OPEN_STATUSES).values_list(
            "referee_id", flat=True
        )
    )
    return apart


def _budgets_lock(campaign_ids: list[int]) -> dict[int, int]:
    """Lock the budgeted campaigns in id order; the points each has left."""
    locked = lock_objects.campaigns_for_update(campaign_ids)
    return {pk: max(budget - awarded, 0) for pk, (budget, awarded) in locked.items() if budget is not None}


@dataclass
class _Facts:
    tiers: dict[int, tuple[Tier | None, Decimal]]  # member -> (tier, qualifying value in the window)
    earned_before: set[int]  # members with an earlier purchase that earned
    listed: set[tuple[int, int]]  # (campaign, member) of the member lists
    usage: dict[tuple[int, int, date], int]  # (campaign, member, period start) -> points, capped campaigns


def _facts(member_ids: list[int], rules: _Rules, now: datetime) -> _Facts:
    """What ``selectors.member_facts_get`` and ``campaigns_prepare`` read, for the batch's members at once."""
    tiers_by_id = {tier.pk: tier for tier in rules.tiers}
    tiers = dict.fromkeys(member_ids, (None, Decimal(0)))
    for member_id, tier_id in MemberTier.objects.filter(member_id__in=member_ids).values_list("member_id", "tier_id"):
        tiers[member_id] = (tiers_by_id.get(tier_id), Decimal(0))
    if rules.tiers:
        days = QualifyingDay.objects.filter(member_id__in=member_ids)
        start = tier_rules.window_start(program_date(now), rules.policy)
        if start is not None:
            days = days.filter(day__gte=start)
        column = "spend_amount" if tier_rules.uses_spend(rules.policy) else "points"
        for member_id, value in days.values("member_id").annotate(value=Sum(column)).values_list("member_id", "value"):
            tiers[member_id] = (tiers[member_id][0], Decimal(str(value)))
    earned = set(
        Purchase.objects.filter(member_id__in=member_ids, outcome=Outcome.EARNED)
        .values_list("member_id", flat=True)
        .distinct()
    )
    listed = set()
    if rules.listed:
        listed = set(
            CampaignMember.objects.filter(campaign_id__in=rules.listed, member_id__in=member_ids).values_list(
                "campaign_id", "member_id"
            )
        )
    usage = {}
    if rules.capped:
        usage = {
            (c, m, day): points
            for c, m, day, points in CampaignUsage.objects.filter(
                campaign_id__in=rules.capped, member_id__in=member_ids
            ).values_list("campaign_id", "member_id", "period_start", "points")
        }
    return _Facts(tiers=tiers, earned_before=earned, listed=listed, usage=usage)


def _evaluate(purchase, partner, member_id, joined_on, account_id, status, rules, facts, budgets, now, out) -> None:
    """Run the engine on one purchase and gather its rows; carry what it changes to the member's next purchase."""
    earns = status == MemberStatus.ACTIVE
    tier, value = facts.tiers[member_id]
    day = program_date(purchase.occurred_at)
    starts = {period: _period_start(period, day) for period in _PERIODS}
    campaigns = []
    if earns:
        for campaign in rules.campaigns:
            if campaign.id not in rules.varying:
                campaigns.append(campaign)
                continue
            campaign = copy.copy(campaign)  # replace() of a frozen dataclass costs several times more
            if campaign.member_in_list is not None:
                object.__setattr__(campaign, "member_in_list", (campaign.id, member_id) in facts.listed)
            if campaign.member_cap:
                used = facts.usage.get((campaign.id, member_id, starts[campaign.cap_period]), 0)
                object.__setattr__(campaign, "member_cap_used", used)
            if campaign.budget_left is not None:
                object.__setattr__(campaign, "budget_left", budgets.get(campaign.id, 0))
            campaigns.append(campaign)
    basket = engine.Basket(
        lines=tuple(engine.Line(sku=sku, category=category, quantity=quantity, unit_price=price)
                    for sku, category, quantity, price in purchase.items),
        occurred_at=purchase.occurred_at,
        partner_id=partner.pk,
        channel=purchase.channel,
    )  # fmt: skip
    member = engine.MemberFacts(
        tier_id=tier.pk if tier else None,
        tier_name=tier.name if tier else "",
        tier_multiplier=Decimal(tier.earning_multiplier) if tier else Decimal(1),
        joined_on=joined_on,
        first_purchase=member_id not in facts.earned_before,
    )
    result = engine.evaluate_purchase(basket, program=rules.program, member=member, campaigns=tuple(campaigns))
    points = result.points if earns else 0
    outcome = {MemberStatus.SUSPENDED: Outcome.MEMBER_SUSPENDED, MemberStatus.CLOSED: Outcome.MEMBER_CLOSED}.get(
        status, Outcome.EARNED if points > 0 else Outcome.NOTHING
    )
    window = partner.return_window_days
    available_at = now + timedelta(days=window) if window and points > 0 else None
    index = len(out.purchases)
    out.purchases.append(
        {
            "partner_id": partner.pk,
            "external_id": purchase.external_id,
            "body_hash": _body_hash(purchase),
            "member_id": member_id,
            "occurred_at": purchase.occurred_at,
            "amount": purchase.amount,
            "currency": purchase.currency,
            "channel": purchase.channel,
            "store": purchase.store,
            "outcome": outcome,
            "points": points,
            "pending_points": points if available_at else 0,
            "available_at": available_at,
            "entry_id": None,
            "created_at": now,
        }
    )
    line_points = [0] * len(purchase.items)
    if earns and points > 0:
        for award in result.awards:
            if award.points <= 0:
                continue
            line_points[award.line] += award.points
            start = None
            if award.campaign_id is not None:
                start = starts[rules.periods[award.campaign_id]]
                key = (award.campaign_id, member_id, start)
                out.usage[key] = out.usage.get(key, 0) + award.points
                out.awarded[award.campaign_id] = out.awarded.get(award.campaign_id, 0) + award.points
                if award.campaign_id in budgets:
                    budgets[award.campaign_id] -= award.points
                if award.campaign_id in rules.capped:
                    facts.usage[key] = facts.usage.get(key, 0) + award.points
            row = {
                "source": award.source,
                "campaign_id": award.campaign_id,
                "rule_id": award.rule_id,
                "points": award.points,
                "reason": award.reason[:32],
                "params": award.params,
                "cap_period_start": start,
            }
            out.awards.append((index, award.line, row))
    for position, (sku, category, quantity, price) in enumerate(purchase.items):
        out.lines.append(
            {
                "purchase_index": index,
                "position": position + 1,
                "sku": sku,
                "category": category,
                "quantity": quantity,
                "unit_price": price,
                "paid_amount": result.paid_amounts[position],
                "points": line_points[position],
            }
        )
    if not earns:
        return
    spend = sum(result.paid_amounts, Decimal(0))
    if points > 0:
        out.credits.append((index, account_id, points, available_at, spend))
        facts.earned_before.add(member_id)
    elif spend > 0:
        out.spends.append((member_id, 0, spend))
    # The upgrade at once that the credit makes, for the member's next purchase in this batch.
    value += spend if tier_rules.uses_spend(rules.policy) else points
    reached = tier_rules.tier_for(rules.tiers, value) if (points or spend) else None
    if reached is not None and (tier is None or reached.rank > tier.rank):
        tier = reached
    facts.tiers[member_id] = (tier, value)


def _write(partner, out: _Batch, now: datetime) -> None:
    """The batch's rows in bulk: purchases, lines, awards, the credits, the usage and the campaigns' totals.

    On PostgreSQL the purchases' ids are reserved first, so the credits name them and the
    purchases are written once, with their entries; elsewhere they are linked after.
    """
    reserved = connection.vendor == "postgresql"
    if reserved:
        purchase_ids = bulk.reserve_ids(Purchase, len(out.purchases))
        entries = _credit(partner, out, purchase_ids, now)
        for (index, *_rest), entry in zip(out.credits, entries, strict=True):
            out.purchases[index]["entry_id"] = entry.pk
        bulk.insert_rows(Purchase, out.purchases, ids=purchase_ids)
    else:
        purchase_ids = bulk.insert_rows(Purchase, out.purchases)
        entries = _credit(partner, out, purchase_ids, now)
        if entries:
            pairs = [(purchase_ids[credit[0]], entry.pk) for credit, entry in zip(out.credits, entries, strict=True)]
            Purchase.objects.bulk_update([Purchase(pk=p, entry_id=e) for p, e in pairs], ["entry_id"])
    first_line = {}
    for number, row in enumerate(out.lines):
        index = row.pop("purchase_index")
        row["purchase_id"] = purchase_ids[index]
        first_line.setdefault(index, number)
    line_ids = bulk.insert_rows(PurchaseLine, out.lines)
    for index, line, row in out.awards:
        row["purchase_id"] = purchase_ids[index]
        row["line_id"] = line_ids[first_line[index] + line]
    bulk.insert_rows(Award, [row for _index, _line, row in out.awards])
    if out.spends:
        qualifying_record_many(day=program_date(now), credits=out.spends, now=now)
    earning = (Outcome.EARNED, Outcome.NOTHING)
    activity = [(row["member_id"], row["occurred_at"]) for row in out.purchases if row["outcome"] in earning]
    activity_record_many(purchases=activity, now=now)  # streaks, purchase milestones
    _usage_add(out.usage)
    if out.awarded:
        services._campaigns_awarded_add(out.awarded)


def _credit(partner, out: _Batch, purchase_ids: list[int], now: datetime) -> list:
    """One ``earn`` credit per purchase that earned (cause the purchase, actor the partner), as the API's."""
    specs = [
        ledger.CreditSpec(
            account_id=account_id,
            points=points,
            kind=EntryKind.EARN,
            cause=ledger.reference(Purchase, purchase_ids[index]),
            actor=partner,
            available_at=available_at,
            spend_amount=spend,
        )
        for index, account_id, points, available_at, spend in out.credits
    ]
    return ledger.credit_many(specs, now=now)


def _usage_add(usage: dict) -> None:
    """Add the batch's points to each member's usage per campaign and cap period (the API's upsert)."""
    if not usage:
        return
    rows = sorted(usage.items())
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO campaigns_campaignusage (campaign_id, member_id, period_start, points)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::bigint[])"
                " ON CONFLICT (campaign_id, member_id, period_start)"
                " DO UPDATE SET points = campaigns_campaignusage.points + excluded.points",
                [[k[0] for k, _p in rows], [k[1] for k, _p in rows], [k[2] for k, _p in rows], [p for _k, p in rows]],
            )
        else:
            cursor.executemany(
                services._USAGE_UPSERT.format(values="(%s, %s, %s, %s)"),
                [[c, m, adapt(day), points] for (c, m, day), points in rows],
            )


def _import_one(partner, purchase: _Purchase, now: datetime, result: ImportResult) -> None:
    """A purchase through the API's own service, in its own transaction (a debt to pay, a referral to qualify)."""
    try:
        recorded = services.purchase_record(
            partner=partner,
            member_number=purchase.member_number,
            external_id=purchase.external_id,
            occurred_at=purchase.occurred_at,
            amount=purchase.amount,
            currency=purchase.currency,
            channel=purchase.channel,
            store=purchase.store,
            items=[
                services.PurchaseItem(sku=sku, category=category, quantity=quantity, unit_price=price)
                for sku, category, quantity, price in purchase.items
            ],
            now=now,
        )
    except LoyaltyError as error:
        result.errors.append(RowError(purchase.line, error.code, str(error.message), purchase.external_id))
        return
    if not recorded.created:
        result.already_imported += 1
        return
    result.purchases += 1
    result.one_by_one += 1
    result.points += recorded.purchase.points
    result.earned += recorded.purchase.outcome == Outcome.EARNED
