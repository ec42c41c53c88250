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

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from loyalty import bulk
from loyalty.clock import program_date
from loyalty.exceptions import InvalidMemberNumber, ValidationError
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import services as ledger
from members.models import Member, MemberStatus
from members.numbers import member_number_clean
from members.tiers import rules as tier_rules
from members.tiers.models import MemberTier, QualifyingDay, Tier, TierPolicy

from . import engine
from .models import (
    Award,
    Campaign,
    CampaignMember,
    CampaignStatus,
    CampaignUsage,
    EarningPolicy,
    Outcome,
    Purchase,
    PurchaseLine,
    RateOverride,
)

COLUMNS = (
    "external_id", "member", "occurred_at", "amount", "currency", "channel", "store",
    "sku", "category", "quantity", "unit_price",
)  # fmt: skip
PURCHASE_COLUMNS = ("member", "occurred_at", "amount", "currency", "channel", "store")
BATCH_SIZE = 1000
CAMPAIGN_PERIOD_START = date(2000, 1, 1)  # CampaignUsage.period_start of a cap per campaign
CENT = Decimal("0.01")
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
        if abs(total - amount) > tolerance:
            raise _RowInvalid("amount_mismatch", f"The items add up to {total.quantize(CENT)}, not {amount}.")
    except _RowInvalid as error:
        error.line = line
        raise
    return _Purchase(first, external_id, number, occurred_at, amount, currency, channel, store, items)


def _body_hash(purchase: _Purchase) -> str:
    body = {
        "external_id": purchase.external_id,
        "member": purchase.member_number,
        "occurred_at": purchase.occurred_at.isoformat(),
        "amount": str(purchase.amount),
        "currency": purchase.currency,
        "channel": purchase.channel,
        "store": purchase.store,
        "items": [[sku, category, str(quantity), str(price)] for sku, category, quantity, price in purchase.items],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# The rules, loaded once per import.


@dataclass
class _Rules:
    program: engine.Program
    campaigns: list[engine.Campaign]
    budgeted: list[int]  # campaign ids with a budget
    listed: list[int]  # campaign ids with a member list
    capped: dict[int, str]  # campaign id -> cap period
    policy: TierPolicy
    tiers: list[Tier]


def _rules_load(partner) -> _Rules:
    earning = EarningPolicy.objects.filter(pk=1).first() or EarningPolicy(pk=1)
    overrides = tuple(
        engine.RateOverride(id=o.pk, points_per_unit=o.points_per_unit, partner_id=o.partner_id, category=o.category,
                            sku=o.sku)
        for o in RateOverride.objects.filter(active=True).order_by("pk")
    )  # fmt: skip
    program = engine.Program(
        points_per_unit=earning.points_per_unit, time_zone=settings.TIME_ZONE, overrides=overrides
    )
    campaigns = []
    for campaign in (
        Campaign.objects.filter(status=CampaignStatus.ACTIVE)
        .prefetch_related("rules__event_type", "tiers", "partners")
        .order_by("pk")
    ):
        partner_ids = frozenset(p.pk for p in campaign.partners.all())
        rules = tuple(_engine_rule(rule) for rule in campaign.rules.all())
        if (partner_ids and partner.pk not in partner_ids) or not rules:
            continue  # it can give this partner's purchases nothing
        campaigns.append(
            engine.Campaign(
                id=campaign.pk,
                name=campaign.name,
                rules=rules,
                starts_at=campaign.starts_at,
                ends_at=campaign.ends_at,
                weekdays=frozenset(campaign.weekdays or ()),
                start_time=campaign.start_time,
                end_time=campaign.end_time,
                tier_ids=frozenset(t.pk for t in campaign.tiers.all()),
                partner_ids=partner_ids,
                channels=frozenset(campaign.channels or ()),
                joined_after=campaign.joined_after,
                joined_before=campaign.joined_before,
                member_in_list=False if campaign.uses_member_list else None,
                member_cap=campaign.member_cap,
                cap_period=campaign.cap_period,
                budget_left=None if campaign.budget is None else campaign.budget - campaign.points_awarded,
            )
        )
    tier_policy = TierPolicy.objects.filter(pk=1).first() or TierPolicy(pk=1)
    return _Rules(
        program=program,
        campaigns=campaigns,
        budgeted=[c.id for c in campaigns if c.budget_left is not None],
        listed=[c.id for c in campaigns if c.member_in_list is not None],
        capped={c.id: c.cap_period for c in campaigns if c.member_cap is not None},
        policy=tier_policy,
        tiers=list(Tier.objects.all()),
    )


def _engine_rule(rule) -> engine.Rule:
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


def period_start(cap_period: str, day: date) -> date:
    """The first day of the cap period of ``day`` (``CampaignUsage.period_start``)."""
    if cap_period == engine.PER_DAY:
        return day
    if cap_period == engine.PER_WEEK:
        return day - timedelta(days=day.weekday())
    return CAMPAIGN_PERIOD_START


# The import.


def purchases_import(
    *, partner, rows: Iterable[Mapping[str, str]], now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> ImportResult:
    """Import ``partner``'s purchases from CSV ``rows`` (dicts by column; the module docstring has the format).

    Each batch of ``batch_size`` purchases is one transaction: all of it or none. Bad
    purchases are skipped and reported (``ImportResult.errors``), never half-written;
    purchases already imported are skipped, so a run can be repeated. Locks the partner,
    the batch's accounts (id order) and the budgeted campaigns (id order). Campaign budgets
    are never exceeded.
    """
    now = now or timezone.now()
    if timezone.is_naive(now):
        raise ValidationError("Give a time with its time zone.", field="now")
    tolerance = (EarningPolicy.objects.filter(pk=1).values_list("amount_tolerance", flat=True).first()) or Decimal(
        "0.05"
    )
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


def _batch_import(partner, batch: list[_Purchase], rules: _Rules, now: datetime, result: ImportResult) -> None:
    one_by_one: list[_Purchase] = []
    with transaction.atomic():
        _partner_lock(partner)
        done = set(
            Purchase.objects.filter(partner=partner, external_id__in=[p.external_id for p in batch]).values_list(
                "external_id", flat=True
            )
        )
        result.already_imported += sum(p.external_id in done for p in batch)
        batch = [p for p in batch if p.external_id not in done]
        members = {
            number: (member_id, joined_at, merged_into, account_id)
            for number, member_id, joined_at, merged_into, account_id in Member.objects.filter(
                member_number__in={p.member_number for p in batch}
            ).values_list("member_number", "pk", "joined_at", "merged_into_id", "account__id")
        }
        known = []
        for purchase in batch:
            found = members.get(purchase.member_number)
            if found is None:
                result.errors.append(RowError(purchase.line, "not_found", "No member has this number.",
                                              purchase.external_id))  # fmt: skip
            elif found[2] is not None:
                result.errors.append(RowError(purchase.line, "member_merged", "This member was merged into another.",
                                              purchase.external_id))  # fmt: skip
            else:
                known.append(purchase)
        accounts = {a.pk: a for a in ledger_locks.accounts_for_update({members[p.member_number][3] for p in known})}
        member_ids = sorted({members[p.member_number][0] for p in known})
        apart = _members_apart(member_ids, accounts)
        budgets = _budgets_lock(rules.budgeted)
        facts = _facts(member_ids, rules, now)
        purchase_rows, line_rows, award_rows, credits, usage = [], [], [], [], {}
        for purchase in known:
            member_id, joined_at, _merged, account_id = members[purchase.member_number]
            status = accounts[account_id].member_status
            if member_id in apart:
                one_by_one.append(purchase)
                continue
            outcome, evaluated = _evaluate(purchase, partner, member_id, joined_at, status, rules, facts, budgets)
            _rows_add(purchase, partner, member_id, account_id, outcome, evaluated, rules, now,
                      purchase_rows, line_rows, award_rows, credits, usage)  # fmt: skip
        _write(purchase_rows, line_rows, award_rows, credits, usage, budgets, rules, now)
        result.batches += 1
        result.purchases += len(purchase_rows)
        result.earned += sum(row["outcome"] == Outcome.EARNED for row in purchase_rows)
        result.not_earning += sum(row["outcome"] in (Outcome.MEMBER_SUSPENDED, Outcome.MEMBER_CLOSED)
                                  for row in purchase_rows)  # fmt: skip
        result.points += sum(row["points"] for row in purchase_rows)
    for purchase in one_by_one:
        _import_one(partner, purchase, now, result)


def _partner_lock(partner) -> None:
    from loyalty.partners import lock_objects as partner_locks

    partner_locks.partner_for_update(partner.pk)


def _members_apart(member_ids: list[int], accounts: dict) -> set[int]:
    """Members whose purchases take the API's path: an account in debt, an open referral."""
    from members.referrals.models import Referral
    from members.referrals.services import OPEN_STATUSES

    apart = {
        a.member_id for a in accounts.values() if getattr(a, "debt", 0) and a.member_status == MemberStatus.ACTIVE
    }
    apart.update(
        Referral.objects.filter(referee_id__in=member_ids, status__in=OPEN_STATUSES).values_list(
            "referee_id", flat=True
        )
    )
    return apart


def _budgets_lock(campaign_ids: list[int]) -> dict[int, int]:
    """Lock the budgeted campaigns in id order; what each has left."""
    from . import lock_objects

    locked = lock_objects.campaigns_for_update(campaign_ids)
    return {pk: budget - awarded for pk, (budget, awarded) in locked.items() if budget is not None}


@dataclass
class _Facts:
    tiers: dict[int, tuple[Tier | None, Decimal]]  # member -> (tier, qualifying value in the window)
    earned_before: set[int]  # members with an earlier purchase that earned
    listed: set[tuple[int, int]]  # (campaign, member) of the member lists
    usage: dict[tuple[int, int, date], int]  # (campaign, member, period start) -> points


def _facts(member_ids: list[int], rules: _Rules, now: datetime) -> _Facts:
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
                campaign_id__in=list(rules.capped), member_id__in=member_ids
            ).values_list("campaign_id", "member_id", "period_start", "points")
        }
    return _Facts(tiers=tiers, earned_before=earned, listed=listed, usage=usage)


def _evaluate(purchase, partner, member_id, joined_at, status, rules: _Rules, facts: _Facts, budgets: dict):
    """The outcome and the engine's result of one purchase; updates the batch's facts with what it earned."""
    if status == MemberStatus.SUSPENDED:
        return Outcome.MEMBER_SUSPENDED, None
    if status == MemberStatus.CLOSED:
        return Outcome.MEMBER_CLOSED, None
    tier, value = facts.tiers[member_id]
    day = program_date(purchase.occurred_at)
    campaigns = []
    for campaign in rules.campaigns:
        changes = {}
        if campaign.member_in_list is not None:
            changes["member_in_list"] = (campaign.id, member_id) in facts.listed
        if campaign.member_cap is not None:
            changes["member_cap_used"] = facts.usage.get(
                (campaign.id, member_id, period_start(campaign.cap_period, day)), 0
            )
        if campaign.budget_left is not None:
            changes["budget_left"] = budgets.get(campaign.id, 0)
        campaigns.append(replace(campaign, **changes) if changes else campaign)
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
        tier_multiplier=tier.earning_multiplier if tier else Decimal(1),
        joined_on=program_date(joined_at),
        first_purchase=member_id not in facts.earned_before,
    )
    evaluated = engine.evaluate_purchase(basket, program=rules.program, member=member, campaigns=tuple(campaigns))
    points = evaluated.points
    if points <= 0:
        return Outcome.NOTHING, evaluated
    # What the next purchase of the member in this batch sees, as it would after this one's transaction.
    facts.earned_before.add(member_id)
    for campaign_id, campaign_points in evaluated.campaign_points().items():
        if campaign_id in budgets:
            budgets[campaign_id] -= campaign_points
        if campaign_id in rules.capped:
            key = (campaign_id, member_id, period_start(rules.capped[campaign_id], day))
            facts.usage[key] = facts.usage.get(key, 0) + campaign_points
    value += purchase.amount if tier_rules.uses_spend(rules.policy) else points
    reached = tier_rules.tier_for(rules.tiers, value)
    if reached is not None and (tier is None or reached.rank > tier.rank):
        tier = reached
    facts.tiers[member_id] = (tier, value)
    return Outcome.EARNED, evaluated


def _rows_add(purchase, partner, member_id, account_id, outcome, evaluated, rules, now,
              purchase_rows, line_rows, award_rows, credits, usage) -> None:  # fmt: skip
    points = evaluated.points if outcome == Outcome.EARNED else 0
    available_at = None
    pending = 0
    if points and partner.return_window_days:
        available_at = purchase.occurred_at + timedelta(days=partner.return_window_days)
        pending = points if available_at > now else 0
    index = len(purchase_rows)
    purchase_rows.append(
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
            "pending_points": pending,
            "available_at": available_at,
            "entry_id": None,
            "created_at": now,
        }
    )
    line_points = [0] * len(purchase.items)
    day = program_date(purchase.occurred_at)
    if evaluated is not None and points:
        for award in evaluated.awards:
            line_points[award.line] += award.points
            cap = rules.capped.get(award.campaign_id) if award.campaign_id is not None else None
            award_rows.append(
                (
                    index,
                    award.line,
                    {
                        "source": award.source,
                        "campaign_id": award.campaign_id,
                        "rule_id": award.rule_id,
                        "points": award.points,
                        "reason": award.reason,
                        "params": award.params,
                        "cap_period_start": period_start(cap, day) if cap else None,
                    },
                )
            )
            if cap:
                key = (award.campaign_id, member_id, period_start(cap, day))
                usage[key] = usage.get(key, 0) + award.points
        credits.append((index, account_id, points, available_at, purchase.amount))
    for position, (sku, category, quantity, price) in enumerate(purchase.items):
        paid = evaluated.paid_amounts[position] if evaluated is not None else quantity * price
        line_rows.append(
            {
                "purchase_index": index,
                "position": position + 1,
                "sku": sku,
                "category": category,
                "quantity": quantity,
                "unit_price": price,
                "paid_amount": Decimal(paid).quantize(CENT),
                "points": line_points[position],
            }
        )


def _write(purchase_rows, line_rows, award_rows, credits, usage, budgets, rules, now) -> None:
    purchase_ids = bulk.insert_rows(Purchase, purchase_rows)
    line_starts = {}
    for number, row in enumerate(line_rows):
        index = row.pop("purchase_index")
        row["purchase_id"] = purchase_ids[index]
        line_starts.setdefault(index, number)
    line_ids = bulk.insert_rows(PurchaseLine, line_rows)
    awards = []
    for index, line, row in award_rows:
        row["purchase_id"] = purchase_ids[index]
        row["line_id"] = line_ids[line_starts[index] + line]
        awards.append(row)
    bulk.insert_rows(Award, awards)
    specs = [
        ledger.CreditSpec(
            account_id=account_id,
            points=points,
            cause=Purchase(pk=purchase_ids[index]),
            actor=None,
            available_at=available_at,
            spend_amount=amount,
        )
        for index, account_id, points, available_at, amount in credits
    ]
    entries = ledger.credit_many(specs, now=now)
    if entries:
        pairs = [(purchase_ids[index], entry.pk) for (index, *_rest), entry in zip(credits, entries, strict=True)]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE campaigns_purchase AS p SET entry_id = v.entry_id"
                    " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, entry_id) WHERE p.id = v.id",
                    [[p for p, _e in pairs], [e for _p, e in pairs]],
                )
        else:
            Purchase.objects.bulk_update([Purchase(pk=p, entry_id=e) for p, e in pairs], ["entry_id"])
    _usage_add(usage)
    awarded: dict[int, int] = {}
    for _index, _line, row in award_rows:
        if row["campaign_id"] is not None:
            awarded[row["campaign_id"]] = awarded.get(row["campaign_id"], 0) + row["points"]
    for campaign_id, points in sorted(awarded.items()):
        Campaign.objects.filter(pk=campaign_id).update(points_awarded=F("points_awarded") + points)


def _usage_add(usage: dict) -> None:
    if not usage:
        return
    rows = sorted(usage.items())
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO campaigns_campaignusage (campaign_id, member_id, period_start, points)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (campaign_id, member_id, period_start) DO UPDATE"
            " SET points = campaigns_campaignusage.points + excluded.points",
            [[c, m, connection.ops.adapt_datefield_value(day), points] for (c, m, day), points in rows],
        )


def _import_one(partner, purchase: _Purchase, now: datetime, result: ImportResult) -> None:
    """A purchase through the API's own service, in its own transaction."""
    from . import services

    services.purchase_record(
        partner=partner,
        member_number=purchase.member_number,
        external_id=purchase.external_id,
        occurred_at=purchase.occurred_at,
        amount=purchase.amount,
        currency=purchase.currency,
        channel=purchase.channel,
        store=purchase.store,
        items=[
            {"sku": sku, "category": category, "quantity": quantity, "unit_price": price}
            for sku, category, quantity, price in purchase.items
        ],
        now=now,
    )
    result.purchases += 1
    result.one_by_one += 1
