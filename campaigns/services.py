"""Every write of earning: the purchases partners post, their returns, and the awards that explain each point.

Lock order, the same on every path (no deadlock): the members' points accounts first, in id
order (``loyalty.ledger.lock_objects``: the buyer's, and the referrer's when the buyer has a
referral waiting for its first purchase), then the campaigns whose budgets the purchase
reads (``campaigns.lock_objects``, id order), then, for a return, the purchase. So two
purchases racing for the last points of a budget read and spend it one after the other.
"""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial, reduce
from operator import or_

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from loyalty.clock import program_date
from loyalty.exceptions import (
    AmountMismatch,
    CurrencyMismatch,
    ExternalIdConflict,
    MemberMerged,
    NotFound,
    NotReversible,
    ReturnExceedsPurchase,
    ValidationError,
)
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, EntryKind
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType as OutboxEventType
from members.models import MemberStatus
from members.referrals.models import Referral
from members.referrals.services import OPEN_STATUSES as REFERRAL_OPEN_STATUSES
from members.referrals.services import referral_purchase_record
from members.selectors import member_get_for_partner
from members.tiers.services import qualifying_record
from missions import services as missions
from missions.streaks.services import activity_record

from . import engine, lock_objects, selectors
from .models import (
    Award,
    Campaign,
    CampaignMember,
    CampaignUsage,
    CapPeriod,
    Outcome,
    Purchase,
    PurchaseLine,
    PurchaseReturn,
    ReturnLine,
)

CENT = Decimal("0.01")
QUANTUM = Decimal("0.001")
CAMPAIGN_PERIOD_START = date(2000, 1, 1)  # the one cap period of a cap per campaign
MAX_AMOUNT = Decimal(10) ** 12
MAX_LINES = 500
EARLIEST_PURCHASE = datetime(2000, 1, 1, tzinfo=UTC)


# Campaigns: what a purchase or an event may earn, and what it earned.


def cap_period_start(cap_period: str, at: datetime) -> date:
    """The first day of the cap period that ``at`` falls in: its program day, that week's Monday, or the fixed
    day of a cap per campaign."""
    if cap_period == CapPeriod.DAY:
        return program_date(at)
    if cap_period == CapPeriod.WEEK:
        day = program_date(at)
        return day - timedelta(days=day.weekday())
    return CAMPAIGN_PERIOD_START


def campaigns_prepare(
    *,
    campaigns: Sequence[engine.Campaign],
    member,
    facts: engine.MemberFacts,
    at: datetime,
    partner_id: int | None,
    channel: str = "",
    program: engine.Program | None = None,
    basket: engine.Basket | None = None,
) -> tuple[engine.Campaign, ...]:
    """The campaigns that apply to ``member`` at ``at``, with what the engine needs filled in.

    Keeps those for which ``engine.campaign_applies`` holds (the member's list looked up in
    one query for the campaigns that have one) and, given the purchase's ``basket``, that
    ``engine.campaign_may_earn`` on it: a campaign none of whose rules matches a line gives
    it nothing, so its cap usage and budget are not read (the statements of a purchase do
    not grow with the campaigns that do not match it); fills ``member_cap_used`` from
    ``CampaignUsage`` for the cap period of ``at`` (one query) and ``budget_left`` from the
    campaign rows, which it LOCKS (``select_for_update``, id order, one query) until the
    caller's transaction ends: the caller must hold the member's account lock already
    (account, then campaigns), and record what the engine awarded (``awards_record``) in the
    same transaction, so concurrent purchases never spend a budget twice. At most three
    queries, none without campaigns that apply (and may earn).
    """
    program = program or selectors.earning_program_get()
    listed = [campaign.id for campaign in campaigns if campaign.member_in_list is not None]
    if listed:
        in_list = set(
            CampaignMember.objects.filter(campaign_id__in=listed, member_id=member.pk).values_list(
                "campaign_id", flat=True
            )
        )
        campaigns = [
            replace(campaign, member_in_list=campaign.id in in_list) if campaign.id in listed else campaign
            for campaign in campaigns
        ]
    applying = [
        campaign
        for campaign in campaigns
        if engine.campaign_applies(
            campaign, occurred_at=at, partner_id=partner_id, channel=channel, member=facts, program=program
        )
        and (basket is None or engine.campaign_may_earn(campaign, basket))
    ]
    if not applying:
        return ()
    capped = {campaign.id: cap_period_start(campaign.cap_period, at) for campaign in applying if campaign.member_cap}
    used: dict[int, int] = {}
    if capped:
        rows = CampaignUsage.objects.filter(member_id=member.pk, campaign_id__in=list(capped)).values_list(
            "campaign_id", "period_start", "points"
        )
        used = {campaign_id: points for campaign_id, start, points in rows if capped[campaign_id] == start}
    locked = lock_objects.campaigns_for_update(campaign.id for campaign in applying)
    prepared = []
    for campaign in applying:
        if campaign.id not in locked:  # deleted since it was read
            continue
        budget, awarded = locked[campaign.id]
        prepared.append(
            replace(
                campaign,
                member_cap_used=used.get(campaign.id, 0),
                budget_left=None if budget is None else max(budget - awarded, 0),
            )
        )
    return tuple(prepared)


def awards_record(
    *,
    result: engine.Result,
    member,
    at: datetime,
    purchase: Purchase | None = None,
    lines: Sequence[PurchaseLine] | None = None,
    event=None,
    campaigns: Sequence[engine.Campaign] | None = None,
) -> list[Award]:
    """Write the engine's awards (one ``Award`` per line and source), add the campaigns' points to the
    member's usage of their cap period and to the campaigns' ``points_awarded``.

    Runs in the caller's transaction, which holds the member's account lock and the
    campaigns' (``campaigns_prepare``). ``lines`` are the purchase's lines in the engine's
    order; ``campaigns`` the ones the engine was given (their cap periods; else read, one query).
    Three statements more at most: the awards, the usages (an upsert), the campaigns (one
    UPDATE with ``F()``); a budget overspent by a broken caller is refused by the database's
    CHECK. Returns the awards.
    """
    awards = [award for award in result.awards if award.points > 0]
    if not awards:
        return []
    if campaigns is not None:
        periods = {campaign.id: cap_period_start(campaign.cap_period, at) for campaign in campaigns}
    else:
        periods = _cap_periods(awards, at)
    rows = [
        Award(
            purchase=purchase,
            line=lines[award.line] if lines is not None and award.line is not None else None,
            event=event,
            source=award.source,
            campaign_id=award.campaign_id,
            rule_id=award.rule_id,
            points=award.points,
            reason=award.reason[:32],
            params=award.params,
            cap_period_start=periods.get(award.campaign_id),
        )
        for award in awards
    ]
    Award.objects.bulk_create(rows)
    per_campaign = result.campaign_points()
    per_campaign = {campaign_id: points for campaign_id, points in per_campaign.items() if points > 0}
    if per_campaign:
        _usage_add(member.pk, {(cid, periods[cid]): points for cid, points in per_campaign.items()})
        _campaigns_awarded_add(per_campaign)
    return rows


def _cap_periods(awards: Iterable[engine.Award], at: datetime) -> dict[int, date]:
    """The cap period start of each campaign awarded (its row's ``cap_period``: one query)."""
    ids = {award.campaign_id for award in awards if award.campaign_id is not None}
    if not ids:
        return {}
    return {
        pk: cap_period_start(period, at)
        for pk, period in Campaign.objects.filter(pk__in=ids).values_list("pk", "cap_period")
    }


_USAGE_UPSERT = (
    "INSERT INTO campaigns_campaignusage (campaign_id, member_id, period_start, points) VALUES {values}"
    " ON CONFLICT (campaign_id, member_id, period_start)"
    " DO UPDATE SET points = campaigns_campaignusage.points + excluded.points"
)


def _usage_add(member_id: int, points: dict[tuple[int, date], int]) -> None:
    """Add points to a member's usage per (campaign, period start): one statement (an upsert)."""
    adapt = connection.ops.adapt_datefield_value
    params: list = []
    for (campaign_id, start), value in sorted(points.items()):
        params += [campaign_id, member_id, adapt(start), value]
    values = ", ".join(["(%s, %s, %s, %s)"] * len(points))
    with connection.cursor() as cursor:
        cursor.execute(_USAGE_UPSERT.format(values=values), params)


def _usage_take_back(member_id: int, points: dict[tuple[int, date], int]) -> None:
    """Take points back from a member's usage per (campaign, period start): one UPDATE (an upsert's CHECK would
    refuse the negative row it proposes)."""
    matches = [(Q(campaign_id=campaign, period_start=start), value) for (campaign, start), value in points.items()]
    CampaignUsage.objects.filter(reduce(or_, (match for match, _value in matches)), member_id=member_id).update(
        points=F("points") - Case(*(When(match, then=Value(value)) for match, value in matches), default=0)
    )


def _campaigns_awarded_add(points: dict[int, int]) -> None:
    """``points_awarded += points`` per campaign (negative: given back) in one UPDATE, in id order."""
    whens = [When(pk=pk, then=Value(value)) for pk, value in sorted(points.items())]
    Campaign.objects.filter(pk__in=list(points)).update(points_awarded=F("points_awarded") + Case(*whens, default=0))


# Purchases.


@dataclass(frozen=True)
class PurchaseItem:
    sku: str
    quantity: Decimal
    unit_price: Decimal
    category: str = ""
    discount: Decimal = Decimal(0)


@dataclass(frozen=True)
class PurchaseRecorded:
    """What ``purchase_record`` did: the purchase (new, or the first one for a repeat), whether it is new, and
    for a new one its awards (``None`` for a repeat: read them)."""

    purchase: Purchase
    created: bool
    awards: list[Award] | None = None


def purchase_record(
    *,
    partner,
    member_number: str,
    external_id: str,
    occurred_at: datetime,
    amount: Decimal,
    currency: str,
    items: Sequence[PurchaseItem],
    channel: str = "",
    store: str = "",
    discount_amount: Decimal = Decimal(0),
    points_amount: Decimal = Decimal(0),
    now: datetime | None = None,
) -> PurchaseRecorded:
    """Record a purchase ``partner`` posts for the member with ``member_number``, and credit what it earned.

    One transaction: the Purchase and its lines (what each line paid), one ledger credit of
    kind ``earn`` (cause the purchase, actor the partner; pending for the partner's return
    window), the Awards per line and source, the campaigns' budgets and usage, the spend
    for tiers and the referral's first purchase. Locks the buyer's account, and the
    referrer's when the buyer has a referral waiting, in id order, before anything else,
    then the campaigns that apply (``campaigns_prepare``).

    Idempotent per partner on ``external_id``: the same content again returns the first
    purchase (``created`` false); other content raises ``ExternalIdConflict``. A suspended
    or closed member earns nothing: the purchase is recorded with ``outcome``
    ``member_suspended`` / ``member_closed`` (no points, no lines' awards, no spend) and
    returned; the API answers it with 409. Raises, writing nothing: ``CurrencyMismatch``,
    ``AmountMismatch``, ``ValidationError``, ``InvalidMemberNumber``, ``NotFound``,
    ``MemberMerged``.
    """
    now = now or timezone.now()
    items = _items_check(items)
    amount, discount_amount, points_amount = (
        _money(value, name, positive=name == "amount")
        for name, value in (("amount", amount), ("discount_amount", discount_amount), ("points_amount", points_amount))
    )
    if timezone.is_naive(occurred_at):
        raise ValidationError("Give a time with its time zone.", field="occurred_at")
    if occurred_at < EARLIEST_PURCHASE:
        raise ValidationError("A purchase is from 2000 or later.", field="occurred_at")
    if not isinstance(currency, str) or currency.upper() != settings.LOYALTY_CURRENCY:
        raise CurrencyMismatch(
            f"The program counts in {settings.LOYALTY_CURRENCY}, not {currency}.",
            field="currency",
            expected=settings.LOYALTY_CURRENCY,
        )
    if not external_id or len(external_id) > 64:
        raise ValidationError("An external id has 1 to 64 characters.", field="external_id")
    if points_amount > amount:
        raise ValidationError("The part paid with points cannot exceed the amount.", field="points_amount")
    policy = selectors.earning_policy_get()
    items_total = sum((item.quantity * item.unit_price - item.discount for item in items), Decimal(0))
    items_total = (items_total - discount_amount).quantize(CENT, ROUND_HALF_UP)
    if abs(items_total - amount) > policy.amount_tolerance:
        raise AmountMismatch(
            f"The items add up to {items_total}, not {amount} (tolerance {policy.amount_tolerance}).",
            field="amount",
            items_total=str(items_total),
            tolerance=str(policy.amount_tolerance),
        )

    member = member_get_for_partner(
        partner=partner, member_number=member_number, annotations=_waiting_referral_annotations()
    )
    _member_refuse_merged(member)
    body_hash = _hash(
        {
            "member": member.member_number,
            "occurred_at": occurred_at.astimezone(UTC).isoformat(),
            "amount": str(amount),
            "currency": currency.upper(),
            "channel": channel,
            "store": store,
            "discount_amount": str(discount_amount),
            "points_amount": str(points_amount),
            "items": [
                [item.sku, item.category, str(item.quantity), str(item.unit_price), str(item.discount)]
                for item in items
            ],
        }
    )
    with transaction.atomic():
        referred, referrer_account_id = member.referral_waiting, member.referral_account_id
        locked = ledger_locks.accounts_for_update([member.account.pk, *filter(None, [referrer_account_id])])
        account = next(account for account in locked if account.pk == member.account.pk)
        member.account = account  # the locked row: its balances are current
        if found := _purchase_repeat(partner, external_id, body_hash):  # after the lock: a racing repeat is seen
            return PurchaseRecorded(found, created=False)
        status = account.member_status
        basket = engine.Basket(
            lines=tuple(
                engine.Line(
                    sku=item.sku,
                    category=item.category,
                    quantity=item.quantity,
                    unit_price=item.unit_price,
                    discount=item.discount,
                )
                for item in items
            ),
            occurred_at=occurred_at,
            partner_id=partner.pk,
            channel=channel,
            discount=discount_amount,
            points_amount=points_amount,
        )
        program = selectors.earning_program_get(policy=policy)
        facts = selectors.member_facts_get(member=member)
        earns = status == MemberStatus.ACTIVE
        campaigns: tuple[engine.Campaign, ...] = ()
        if earns:
            campaigns = campaigns_prepare(
                campaigns=selectors.campaigns_live_get(at=occurred_at, policy=policy),
                member=member,
                facts=facts,
                at=occurred_at,
                partner_id=partner.pk,
                channel=channel,
                program=program,
                basket=basket,
            )
        result = engine.evaluate_purchase(basket, program=program, member=facts, campaigns=campaigns)
        points = result.points if earns else 0
        outcome = {
            MemberStatus.SUSPENDED: Outcome.MEMBER_SUSPENDED,
            MemberStatus.CLOSED: Outcome.MEMBER_CLOSED,
        }.get(status, Outcome.EARNED if points > 0 else Outcome.NOTHING)
        window = partner.return_window_days
        available_at = now + timedelta(days=window) if window and points > 0 else None
        purchase = Purchase(
            partner=partner,
            external_id=external_id,
            body_hash=body_hash,
            member=member,
            occurred_at=occurred_at,
            amount=amount,
            currency=currency.upper(),
            discount_amount=discount_amount,
            points_amount=points_amount,
            channel=channel,
            store=store,
            outcome=outcome,
            points=points,
            pending_points=points if available_at else 0,
            available_at=available_at,
            created_at=now,
        )
        try:
            with transaction.atomic():
                purchase.save(force_insert=True)
        except IntegrityError:  # the same external id for another member, committed meanwhile
            if found := _purchase_repeat(partner, external_id, body_hash):
                return PurchaseRecorded(found, created=False)
            raise
        line_points = _points_per_line(result, len(items)) if earns else [0] * len(items)
        lines = [
            PurchaseLine(
                purchase=purchase,
                position=position,
                sku=item.sku,
                category=item.category,
                quantity=item.quantity,
                unit_price=item.unit_price,
                discount_amount=item.discount,
                paid_amount=result.paid_amounts[position - 1],
                points=line_points[position - 1],
            )
            for position, item in enumerate(items, start=1)
        ]
        PurchaseLine.objects.bulk_create(lines)
        awards: list[Award] = []
        if not earns:
            return PurchaseRecorded(purchase, created=True, awards=awards)
        spend = sum(result.paid_amounts, Decimal(0))
        completions = missions.progress_record(
            member=member,
            now=now,
            purchase=purchase,
            paid_amounts=result.paid_amounts,
            categories=[item.category for item in items],
            facts=facts,
            policy=policy,
            pay_points=False,
        )
        # The purchase's points and the prizes of the missions it completes: one ledger write, one lock.
        credits = missions.prize_credits(completions)
        if points > 0:
            earned = ledger.CreditSpec(
                account_id=account.pk,
                points=points,
                kind=EntryKind.EARN,
                cause=purchase,
                actor=partner,
                available_at=available_at,
                spend_amount=spend,
            )
            credits.insert(0, earned)
        entries = ledger.credit_all(member.account, credits, now=now)
        events = []  # the outbox's, written in one statement
        if points > 0:
            purchase.entry = entries.pop(0)
            Purchase.objects.filter(pk=purchase.pk).update(entry=purchase.entry)
            awards = awards_record(
                result=result, member=member, at=occurred_at, purchase=purchase, lines=lines, campaigns=campaigns
            )
            earned_event = {
                "member": member.member_number,
                "points": points,
                "balance": purchase.entry.balance_after,
                "available_at": available_at.isoformat() if available_at else None,
                "transaction": purchase.pk,
            }
            events.append((OutboxEventType.POINTS_EARNED, earned_event))
        else:
            _spend_record(member, spend, now=now)
        events += missions.prizes_pay(completions, entries, member=member, now=now)
        if events:
            outbox.events_record(events=events, member=member, partner=partner, now=now)
        activity_record(member=member, at=occurred_at, purchase=True, now=now)  # streak, purchase milestones
        if referred:
            referral_purchase_record(
                member=member,
                amount=amount - points_amount,
                currency=currency.upper(),
                purchase_ref=f"{partner.pk}:{external_id}",
                now=now,
            )
    return PurchaseRecorded(purchase, created=True, awards=awards)


def _items_check(items: Sequence[PurchaseItem]) -> list[PurchaseItem]:
    if not items:
        raise ValidationError("A purchase has at least one item.", field="items")
    if len(items) > MAX_LINES:
        raise ValidationError(f"A purchase has at most {MAX_LINES} items.", field="items")
    checked = []
    for item in items:
        if not item.sku or len(item.sku) > 64 or len(item.category) > 64:
            raise ValidationError("An item's SKU has 1 to 64 characters, its category at most 64.", field="items")
        quantity = _decimal(item.quantity, "items", QUANTUM)
        unit_price = _money(item.unit_price, "items")
        discount = _money(item.discount, "items")
        if quantity <= 0:
            raise ValidationError("An item's quantity is greater than zero.", field="items")
        if discount > (quantity * unit_price).quantize(CENT, ROUND_HALF_UP):
            raise ValidationError("An item's discount cannot exceed its price.", field="items")
        checked.append(replace(item, quantity=quantity, unit_price=unit_price, discount=discount))
    return checked


def _decimal(value, field: str, quantum: Decimal) -> Decimal:
    try:
        number = Decimal(value) if not isinstance(value, float) else None
    except (InvalidOperation, TypeError, ValueError):
        number = None
    if number is None or not number.is_finite() or abs(number) >= MAX_AMOUNT or number != number.quantize(quantum):
        raise ValidationError(f"Give an amount with at most {abs(quantum.as_tuple().exponent)} decimals.", field=field)
    return number.quantize(quantum)


def _money(value, field: str, *, positive: bool = False) -> Decimal:
    amount = _decimal(value, field, CENT)
    if amount < 0 or (positive and amount == 0):
        raise ValidationError(
            "The amount must be greater than zero." if positive else "An amount cannot be negative.", field=field
        )
    return amount


def _hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _purchase_repeat(partner, external_id: str, body_hash: str) -> Purchase | None:
    """The partner's purchase with this external id if it has the same content; ``ExternalIdConflict`` if not."""
    found = Purchase.objects.filter(partner_id=partner.pk, external_id=external_id).first()
    if found is None:
        return None
    if found.body_hash != body_hash:
        raise ExternalIdConflict(field="external_id")
    return found


def _member_refuse_merged(member) -> None:
    if member.merged_into_id is not None:
        raise MemberMerged(merged_into=member.merged_into.member_number)


def _waiting_referral_annotations() -> dict:
    """Whether the member has a referral waiting for its first purchase, and the referrer's account: read with
    the member (``member_get_for_partner``), no query of their own."""
    waiting = Referral.objects.filter(referee_id=OuterRef("pk"), status__in=REFERRAL_OPEN_STATUSES)
    return {
        "referral_waiting": Exists(waiting),
        "referral_account_id": Subquery(waiting.values("referrer__account")[:1]),
    }


def _points_per_line(result: engine.Result, count: int) -> list[int]:
    points = [0] * count
    for award in result.awards:
        if award.line is not None:
            points[award.line] += award.points
    return points


def _spend_record(member, spend: Decimal, *, now: datetime) -> None:
    """A purchase that earned no points still counts its spend towards tiers (the account is locked)."""
    if spend > 0:
        qualifying_record(member_id=member.pk, day=program_date(now), spend_amount=spend, now=now)


# Returns.


@dataclass(frozen=True)
class ReturnItem:
    """Items given back: the line at ``position`` (1 for the first item posted), or the lines of ``sku`` in order."""

    quantity: Decimal
    sku: str = ""
    position: int | None = None


@dataclass(frozen=True)
class ReturnRecorded:
    """What ``purchase_return`` did: the return (new, or the first one for a repeat), its lines, whether it is
    new, and ``account``: the member's balances after it (for a merged member, the survivor's, which holds its
    points)."""

    purchase_return: PurchaseReturn
    lines: list[ReturnLine]
    created: bool
    account: Account


def purchase_return(
    *,
    partner,
    purchase_id: int,
    external_id: str,
    items: Sequence[ReturnItem] | None = None,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> ReturnRecorded:
    """Give back items (or an amount) of one of ``partner``'s purchases, and reverse exactly what they earned.

    Per line the share returned is the returned quantity over the quantity (by ``amount``:
    the amount shared over the lines in proportion to what is left of their paid amounts),
    and each of the line's awards (base, campaign shares, tier) gives back that share of
    its points, rounded half up on the cumulated share, so the last return of a line takes
    exactly what is left of it and returns never add up to more than it earned. The
    campaigns get their points back (budget and the member's cap usage), the tiers the
    spend; the ledger reverses the points (``ledger.reverse``), pending ones first, and
    when the member already spent them applies ``EarningPolicy.return_policy`` (a debt, or
    a write-off), recorded on the ``PurchaseReturn`` (``shortfall``, ``policy``). Points of
    the purchase that already expired are not taken back again (the ledger's rule).

    Locks the member's account (then the campaigns, by the F() updates): two returns of
    one purchase run one after the other. Idempotent per partner on ``external_id``: the
    same content returns the first return (``created`` false), other content raises
    ``ExternalIdConflict``. Raises ``NotFound`` (not this partner's purchase),
    ``ValidationError``, ``ReturnExceedsPurchase`` (more than is left; nothing written),
    ``MemberClosed``.
    """
    now = now or timezone.now()
    if (items is None) == (amount is None):
        raise ValidationError("Give either the items returned or the amount refunded.", field="items")
    if not external_id or len(external_id) > 64:
        raise ValidationError("An external id has 1 to 64 characters.", field="external_id")
    if items is not None:
        items = _return_items_check(items)
        content = {"items": [[item.position, item.sku, str(item.quantity)] for item in items]}
    else:
        amount = _money(amount, "amount", positive=True)
        content = {"amount": str(amount)}
    purchase = (
        Purchase.objects.filter(pk=purchase_id, partner_id=partner.pk)
        .select_related("member__account", "member__merged_into__account", "entry")
        .first()
    )
    if purchase is None:
        raise NotFound("This partner has no transaction with this id.")
    body_hash = _hash({"purchase": purchase.pk, **content})
    holder = purchase.member.merged_into or purchase.member  # a merged member's points are the survivor's
    if found := _return_repeat(partner, external_id, body_hash):
        return _return_replayed(found, purchase, holder.account)

    with transaction.atomic():
        locked = {
            account.pk: account
            for account in ledger_locks.accounts_for_update({purchase.member.account.pk, holder.account.pk})
        }
        purchase.member.account, holder.account = locked[purchase.member.account.pk], locked[holder.account.pk]
        if found := _return_repeat(partner, external_id, body_hash):
            return _return_replayed(found, purchase, holder.account)
        lines = list(purchase.lines.order_by("position"))
        back = _shares_of_items(lines, items) if items is not None else _shares_of_amount(lines, amount)
        total_amount = sum((share_amount for _quantity, share_amount in back.values()), Decimal(0))
        if total_amount <= 0:
            raise ValidationError("These items were paid nothing: there is nothing to give back.", field="items")
        awards_by_line: dict[int, list[Award]] = {}
        for award in Award.objects.filter(purchase_id=purchase.pk, line__isnull=False).order_by("pk"):
            awards_by_line.setdefault(award.line_id, []).append(award)

        changed_awards, return_lines, campaigns, usage = [], [], {}, {}
        for line in lines:
            if line.pk not in back:
                continue
            quantity, share_amount = back[line.pk]
            line.returned_quantity += quantity
            line.returned_amount += share_amount
            share = _returned_share(line)
            line_points = 0
            for award in awards_by_line.get(line.pk, ()):
                target = award.points if share >= 1 else int((award.points * share).to_integral_value(ROUND_HALF_UP))
                given = max(min(target, award.points) - award.returned_points, 0)
                if not given:
                    continue
                award.returned_points += given
                line_points += given
                changed_awards.append(award)
                if award.campaign_id is not None:
                    campaigns[award.campaign_id] = campaigns.get(award.campaign_id, 0) - given
                    key = (award.campaign_id, award.cap_period_start or CAMPAIGN_PERIOD_START)
                    usage[key] = usage.get(key, 0) + given
            line.returned_points += line_points
            return_lines.append(ReturnLine(line=line, quantity=quantity, amount=share_amount, points=line_points))
        points = sum(return_line.points for return_line in return_lines)

        policy = selectors.earning_policy_get()
        reversal = None
        counted_spend = purchase.outcome in (Outcome.EARNED, Outcome.NOTHING)
        if points > 0 and purchase.entry_id is not None:
            purchase.entry.account = purchase.member.account  # the ledger keeps it in step with the reversal
            reverse = partial(
                ledger.reverse,
                purchase.entry,
                shortfall=policy.return_policy,
                spend_amount=total_amount,
                actor=partner,
                idempotency_key=f"purchase-return:{external_id}",
                now=now,
            )
            try:
                reversal = reverse(points=points)
            except NotReversible as refused:  # some of the purchase's points expired: they are not taken twice
                if refused.details.get("reversible"):
                    reversal = reverse(points=refused.details["reversible"])
        if reversal is None and counted_spend:
            qualifying_record(
                member_id=holder.pk,  # the survivor holds a merged member's qualifying days
                day=program_date(purchase.created_at),
                spend_amount=-total_amount,
                now=now,
            )
        returned = PurchaseReturn(
            purchase=purchase,
            partner=partner,
            external_id=external_id,
            body_hash=body_hash,
            amount=total_amount,
            points=points,
            shortfall=reversal.debt if reversal is not None else 0,
            policy=policy.return_policy if points else "",
            entry=reversal,
            created_at=now,
        )
        returned.save(force_insert=True)
        for return_line in return_lines:
            return_line.purchase_return = returned
        ReturnLine.objects.bulk_create(return_lines)
        PurchaseLine.objects.bulk_update(
            [line for line in lines if line.pk in back], ["returned_quantity", "returned_amount", "returned_points"]
        )
        if changed_awards:
            Award.objects.bulk_update(changed_awards, ["returned_points"])
        if campaigns:
            _usage_take_back(purchase.member_id, usage)
            _campaigns_awarded_add(campaigns)
        missions.progress_return(purchase=purchase, lines=lines, now=now, policy=policy)
    if holder.account is not purchase.member.account:
        holder.account.refresh_from_db()  # the ledger wrote the survivor's balances on its own lock's copy
    return ReturnRecorded(returned, return_lines, created=True, account=holder.account)


def _return_replayed(found: PurchaseReturn, purchase: Purchase, account: Account) -> ReturnRecorded:
    found.purchase = purchase
    lines = list(found.lines.select_related("line").order_by("line__position"))
    return ReturnRecorded(found, lines, created=False, account=account)


def _return_items_check(items: Sequence[ReturnItem]) -> list[ReturnItem]:
    if not items or len(items) > MAX_LINES:
        raise ValidationError(f"Give 1 to {MAX_LINES} items returned.", field="items")
    checked = []
    for item in items:
        if (item.position is None) == (not item.sku):
            raise ValidationError("Name each item returned by its sku or its position.", field="items")
        quantity = _decimal(item.quantity, "items", QUANTUM)
        if quantity <= 0:
            raise ValidationError("A quantity returned is greater than zero.", field="items")
        checked.append(replace(item, quantity=quantity))
    return checked


def _return_repeat(partner, external_id: str, body_hash: str) -> PurchaseReturn | None:
    found = PurchaseReturn.objects.filter(partner_id=partner.pk, external_id=external_id).first()
    if found is None:
        return None
    if found.body_hash != body_hash:
        raise ExternalIdConflict("This external id was already used for another return.", field="external_id")
    return found


def _line_amount(line: PurchaseLine, returned_quantity: Decimal) -> Decimal:
    """What a line paid for ``returned_quantity`` of it (all that is left when it is all of it)."""
    if returned_quantity >= line.quantity:
        return line.paid_amount
    return (line.paid_amount * returned_quantity / line.quantity).quantize(CENT, ROUND_HALF_UP)


def _shares_of_items(lines: list[PurchaseLine], items: list[ReturnItem]) -> dict[int, tuple[Decimal, Decimal]]:
    """``{line id: (quantity, amount)}`` given back by ``items``; ``ReturnExceedsPurchase`` beyond what is left."""
    by_position = {line.position: line for line in lines}
    asked: dict[int, Decimal] = {}
    for item in items:
        if item.position is not None:
            line = by_position.get(item.position)
            if line is None:
                raise ReturnExceedsPurchase(f"This purchase has no line {item.position}.", field="items")
            asked[line.pk] = asked.get(line.pk, Decimal(0)) + item.quantity
            if asked[line.pk] > line.quantity - line.returned_quantity:
                left = line.quantity - line.returned_quantity
                raise ReturnExceedsPurchase(
                    f"Line {line.position} ({line.sku}) has {left.normalize():f} left to return.", field="items"
                )
            continue
        wanted = item.quantity
        for line in lines:
            if line.sku != item.sku:
                continue
            room = line.quantity - line.returned_quantity - asked.get(line.pk, Decimal(0))
            taken = min(room, wanted)
            if taken > 0:
                asked[line.pk] = asked.get(line.pk, Decimal(0)) + taken
                wanted -= taken
        if wanted > 0:
            raise ReturnExceedsPurchase(
                f"{item.sku}: {item.quantity.normalize():f} asked, {(item.quantity - wanted).normalize():f} left.",
                field="items",
            )
    shares = {}
    for line in lines:
        if line.pk in asked:
            before = _line_amount(line, line.returned_quantity)
            after = _line_amount(line, line.returned_quantity + asked[line.pk])
            amount = min(max(after - before, Decimal(0)), line.paid_amount - line.returned_amount)
            shares[line.pk] = (asked[line.pk], amount)
    return shares


def _shares_of_amount(lines: list[PurchaseLine], amount: Decimal) -> dict[int, tuple[Decimal, Decimal]]:
    """``amount`` shared over the lines in proportion to what is left of their paid amounts, cent by cent
    (largest remainder first, ties to the earlier line); ``ReturnExceedsPurchase`` beyond what is left."""
    left = {line.pk: line.paid_amount - line.returned_amount for line in lines}
    total_left = sum(left.values(), Decimal(0))
    if amount > total_left:
        raise ReturnExceedsPurchase(f"{total_left} is left of this purchase to refund.", field="amount")
    cents = int(amount / CENT)
    exact = {pk: Decimal(cents) * value / total_left for pk, value in left.items() if value > 0}
    shares = {pk: int(value) for pk, value in exact.items()}
    rest = cents - sum(shares.values())
    order = sorted(exact, key=lambda pk: (-(exact[pk] - shares[pk]), pk))
    for pk in order[:rest]:
        shares[pk] += 1
    return {pk: (Decimal(0), Decimal(share) * CENT) for pk, share in shares.items() if share > 0}


def _returned_share(line: PurchaseLine) -> Decimal:
    """How much of a line is given back, from 0 to 1: by money paid, or by quantity for a line paid nothing."""
    if line.paid_amount > 0:
        return min(line.returned_amount / line.paid_amount, Decimal(1))
    return min(line.returned_quantity / line.quantity, Decimal(1))
