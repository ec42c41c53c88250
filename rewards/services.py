"""Every write of rewards: redemptions and the vouchers they issue.

Lock order, the same on every path (no deadlock): the member's points account first
(``loyalty.ledger.lock_objects``), then the reward's stock (a conditional ``UPDATE`` that locks
its row) and pool codes (``rewards.lock_objects``). So two redemptions of one member run one
after the other (limits and balance are read under the account's lock), and redemptions of
different members race only for stock, which the database counts.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.exceptions import (
    IdempotencyConflict,
    LimitReached,
    MemberClosed,
    MemberMerged,
    MemberSuspended,
    NotCancellable,
    NotEligible,
    OutOfStock,
    PresenceCodeInvalid,
    PresenceCodeRequired,
    ValidationError,
)
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from loyalty.partners.services import PresenceProof, presence_code_consume
from members.models import MemberStatus

from . import eligibility, lock_objects
from .models import Donation, Redemption, Reward, RewardKind, Voucher, VoucherCode, VoucherStatus

MAX_QUANTITY = 20
# Crockford's base32 without I, L, O, U: 16 characters are 80 random bits, read aloud without confusion.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16


def voucher_code_generate() -> str:
    """A new random voucher code, in groups of four: ``7KQ2-M9XD-3HBT-W4RA`` (80 bits from ``secrets``)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def voucher_code_normalize(code: str) -> str:
    """A code as typed at a till (spaces, lower case) as it is stored: generated codes are upper case in groups."""
    return " ".join(str(code).split()).upper()


@dataclass(frozen=True)
class RedemptionResult:
    """What ``redemption_create`` did: the redemption (new, or the first one for a repeat), its vouchers and
    donations, and whether it is new."""

    redemption: Redemption
    vouchers: list
    donations: list
    created: bool


def redemption_create(
    *,
    member,
    reward: Reward,
    quantity: int = 1,
    partner=None,
    proof: PresenceProof | None = None,
    idempotency_key: str,
    now: datetime | None = None,
) -> RedemptionResult:
    """Redeem ``quantity`` units of ``reward`` for ``member``: in the portal (``partner`` ``None``) or by a partner
    for a member present, whose presence code ``proof`` (``presence_code_check``) is spent in the same transaction.

    One transaction, all or nothing: checks the member (active, not merged), the reward
    (``eligibility.reward_refusal``: active, dates, tier, the partner accepts it), the member's limit
    for the period, then debits the ledger (kind ``redeem``, cause the redemption, actor the
    partner), takes the units from stock and the codes from the pool, and issues one voucher per
    unit (a donation per unit for a charity reward). Idempotent per member and redeemer on
    ``idempotency_key``: a repeat returns the first redemption (``created`` false); the same key
    for another reward or quantity raises ``IdempotencyConflict``. Raises ``NotEligible``
    (``details.reason``), ``LimitReached``, ``InsufficientPoints``, ``OutOfStock``,
    ``MemberSuspended``, ``MemberClosed``, ``MemberMerged``, ``PresenceCodeRequired`` and the
    presence code's errors, ``ValidationError`` (quantity). Locks the member's account first.
    """
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(f"Redeem 1 to {MAX_QUANTITY} units at a time.", field="quantity")
    if not idempotency_key or len(idempotency_key) > 255:
        raise ValidationError("An idempotency key has 1 to 255 characters.", field="idempotency_key")
    if member.merged_into_id is not None:
        raise MemberMerged(merged_into=member.merged_into.member_number)
    if partner is not None and proof is None:
        raise PresenceCodeRequired()
    if proof is not None and proof.member_id != member.pk:
        raise PresenceCodeInvalid()
    now = now or timezone.now()

    with transaction.atomic():
        account = ledger_locks.account_for_update(member.account.pk)
        if found := _redemption_repeat(member, partner, idempotency_key, reward, quantity):
            return found
        if account.member_status == MemberStatus.CLOSED:
            raise MemberClosed()
        if account.member_status != MemberStatus.ACTIVE:
            raise MemberSuspended()
        refusal = eligibility.reward_refusal(
            reward,
            tier_id=_tier_id(member),
            tier_ids=frozenset(reward.tiers.values_list("pk", flat=True)),
            partner_ids=frozenset(reward.partners.values_list("pk", flat=True)),
            partner_id=partner.pk if partner is not None else None,
            now=now,
        )
        if refusal:
            raise NotEligible(refusal.message, reason=refusal.reason)
        _limit_check(member, reward, quantity, now)
        if proof is not None:
            presence_code_consume(proof=proof, partner=partner, now=now)
        points = reward.points_cost * quantity
        redemption = Redemption.objects.create(
            member=member,
            reward=reward,
            quantity=quantity,
            points=points,
            partner=partner,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        redemption.entry = ledger.debit(
            member.account,
            points,
            cause=redemption,
            actor=partner,
            memo_code=memos.REWARD_REDEEMED,
            memo_params={"name": reward.name, "name_fr": reward.name_fr, "quantity": quantity},
            now=now,
        )
        Redemption.objects.filter(pk=redemption.pk).update(entry=redemption.entry)
        _stock_take(reward, quantity)
        outbox.event_record(
            type=EventType.POINTS_REDEEMED,
            member=member,
            partner=partner,
            now=now,
            data={
                "member": member.member_number,
                "points": points,
                "balance": redemption.entry.balance_after,
                "redemption": redemption.pk,
                "reward": reward.code,
                "quantity": quantity,
            },
        )
        if reward.kind == RewardKind.DONATION:
            donations = _donations_record(redemption, reward, now)
            return RedemptionResult(redemption, vouchers=[], donations=donations, created=True)
        vouchers = _vouchers_issue(redemption, reward, now)
        outbox.event_record(
            type=EventType.VOUCHER_ISSUED,
            member=member,
            partner=partner,
            now=now,
            data={
                "member": member.member_number,
                "redemption": redemption.pk,
                "reward": reward.code,
                "vouchers": [_voucher_public(voucher) for voucher in vouchers],
            },
        )
    return RedemptionResult(redemption, vouchers=vouchers, donations=[], created=True)


def _voucher_public(voucher: Voucher) -> dict:
    """What an event tells of a voucher: never its code (a bearer value), only its last four characters."""
    return {
        "id": voucher.pk,
        "code_hint": voucher.code[-4:],
        "expires_at": voucher.expires_at.isoformat() if voucher.expires_at else None,
    }


def _redemption_repeat(member, partner, key: str, reward: Reward, quantity: int) -> RedemptionResult | None:
    found = Redemption.objects.filter(member=member, partner=partner, idempotency_key=key).first()
    if found is None:
        return None
    if found.reward_id != reward.pk or found.quantity != quantity:
        raise IdempotencyConflict()
    vouchers, donations = list(found.vouchers.order_by("pk")), list(found.donations.order_by("pk"))
    return RedemptionResult(found, vouchers=vouchers, donations=donations, created=False)


def _tier_id(member) -> int | None:
    from members.tiers.models import MemberTier

    return MemberTier.objects.filter(member_id=member.pk).values_list("tier_id", flat=True).first()


def _limit_check(member, reward: Reward, quantity: int, now: datetime) -> None:
    """Refuse more units than the reward's per-member limit leaves in the period (cancelled vouchers do not count)."""
    if reward.limit_per_member is None:
        return
    since = eligibility.limit_period_start(reward.limit_period, now)
    model = Donation if reward.kind == RewardKind.DONATION else Voucher
    units = model.objects.filter(member_id=member.pk, redemption__reward_id=reward.pk)
    if since is not None:
        units = units.filter(redemption__created_at__gte=since)
    if model is not Donation:
        units = units.exclude(status=VoucherStatus.CANCELLED)
    if units.count() + quantity > reward.limit_per_member:
        period = reward.get_limit_period_display().lower()
        raise LimitReached(
            f"This reward can be redeemed {reward.limit_per_member} times {period}.",
            limit=reward.limit_per_member,
            period=reward.limit_period,
        )


def _stock_take(reward: Reward, quantity: int) -> None:
    """Take units from stock in one conditional UPDATE: the row's lock orders racing redemptions, and a unit is sold
    once (the CHECK ``stock >= 0`` too)."""
    if reward.stock is None:
        return
    taken = Reward.objects.filter(pk=reward.pk, stock__gte=quantity).update(stock=F("stock") - quantity)
    if not taken:
        raise OutOfStock()


def _vouchers_issue(redemption: Redemption, reward: Reward, now: datetime) -> list[Voucher]:
    codes = _codes_take(reward, redemption.quantity, now)
    terms = _terms(reward)
    expires_at = eligibility.voucher_expiry(reward, now)
    vouchers = [
        Voucher(
            redemption=redemption,
            reward=reward,
            member_id=redemption.member_id,
            code=code,
            pool_code=pool_code,
            points=reward.points_cost,
            terms=terms,
            status=VoucherStatus.ISSUED,
            issued_at=now,
            expires_at=expires_at,
        )
        for code, pool_code in codes
    ]
    for attempt in range(3):  # a generated code that exists already: 80 random bits make one retry a rarity
        try:
            with transaction.atomic():
                return Voucher.objects.bulk_create(vouchers)
        except IntegrityError:
            if attempt == 2 or reward.kind == RewardKind.GIFT_CARD:
                raise
            for voucher in vouchers:
                voucher.code = voucher_code_generate()
    raise AssertionError("unreachable")


def _codes_take(reward: Reward, quantity: int, now: datetime) -> list[tuple[str, VoucherCode | None]]:
    """A gift card's codes come from its pool (``OutOfStock`` when it holds too few); other vouchers' are generated."""
    if reward.kind != RewardKind.GIFT_CARD or not reward.pool_codes.exists():
        return [(voucher_code_generate(), None) for _ in range(quantity)]
    pool = lock_objects.pool_codes_for_update(reward.pk, quantity)
    if len(pool) < quantity:
        raise OutOfStock("No gift card code of this reward is left.")
    VoucherCode.objects.filter(pk__in=[code.pk for code in pool]).update(taken_at=now)
    return [(code.code, code) for code in pool]


def _terms(reward: Reward) -> dict:
    """What the voucher is worth, as the till reads it, frozen at issue."""

    def money(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "kind": reward.kind,
        "name": reward.name,
        "name_fr": reward.name_fr,
        "value_amount": money(reward.value_amount),
        "percent": money(reward.percent),
        "max_discount_amount": money(reward.max_discount_amount),
        "currency": settings.LOYALTY_CURRENCY,
        "sku": reward.sku,
        "starts_at": reward.starts_at.isoformat() if reward.starts_at else None,
    }


def _donations_record(redemption: Redemption, reward: Reward, now: datetime) -> list[Donation]:
    amount = reward.value_amount
    if amount is None:
        amount = (reward.points_cost * settings.LOYALTY_POINT_VALUE).quantize(Decimal("0.01"))
    return Donation.objects.bulk_create(
        Donation(
            redemption=redemption,
            charity_id=reward.charity_id,
            member_id=redemption.member_id,
            points=reward.points_cost,
            amount=amount,
            currency=settings.LOYALTY_CURRENCY,
            created_at=now,
        )
        for _ in range(redemption.quantity)
    )


def voucher_cancel(*, voucher: Voucher, actor=None, now: datetime | None = None) -> Voucher:
    """Cancel an unused voucher within its reward's ``cancel_window_hours``: its points come back through
    ``ledger.reverse`` of the redemption's debit (to the lots they came from) and its unit back to stock.

    ``actor`` is who cancelled (a partner; ``None``: the member in the portal). Locks the member's
    account, then the voucher. Idempotent: cancelling a cancelled voucher returns it unchanged.
    Raises ``NotCancellable`` (used, expired, no window, the window is over) and the ledger's
    ``MemberClosed``. A gift card's code is not put back in its pool: the member has seen it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ledger_locks.account_for_update(voucher.member.account.pk)
        locked = lock_objects.voucher_for_update(voucher.pk)
        if locked.status == VoucherStatus.CANCELLED:
            return locked
        reward, redemption = locked.reward, locked.redemption
        if locked.status != VoucherStatus.ISSUED:
            raise NotCancellable(f"This voucher is {locked.get_status_display().lower()}.", status=locked.status)
        window_ends = redemption.created_at + timedelta(hours=reward.cancel_window_hours)
        if not reward.cancel_window_hours or now >= window_ends:
            raise NotCancellable(window_ends=window_ends.isoformat() if reward.cancel_window_hours else None)
        locked.reversal = ledger.reverse(
            redemption.entry, points=locked.points, actor=actor, idempotency_key=f"voucher-cancel:{locked.pk}", now=now
        )
        locked.status, locked.cancelled_at = VoucherStatus.CANCELLED, now
        locked.save(update_fields=["status", "cancelled_at", "reversal"])
        if reward.stock is not None:
            Reward.objects.filter(pk=reward.pk).update(stock=F("stock") + 1)
    return locked
