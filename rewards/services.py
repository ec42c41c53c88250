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
    AlreadyUsed,
    IdempotencyConflict,
    LimitReached,
    MemberClosed,
    MemberMerged,
    MemberSuspended,
    NotCancellable,
    NotEligible,
    NotFound,
    OutOfStock,
    PresenceCodeInvalid,
    PresenceCodeRequired,
    ValidationError,
    VoucherNotUsable,
)
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, Entry
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from loyalty.partners.services import PresenceProof, presence_code_consume
from members.models import MemberStatus

from . import eligibility, lock_objects
from .models import Donation, Redemption, Reward, RewardKind, Voucher, VoucherCode, VoucherStatus
from .selectors import member_tier_id_get, units_in_limit_period, voucher_get_by_code

MAX_QUANTITY = 20
# Crockford's base32 without I, L, O, U: 16 characters are 80 random bits, read aloud without confusion.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
CODE_ATTEMPTS = 3


def voucher_code_generate() -> str:
    """A new random voucher code, in groups of four: ``7KQ2-M9XD-3HBT-W4RA`` (80 bits from ``secrets``)."""
    bits = int.from_bytes(secrets.token_bytes(CODE_LENGTH * 5 // 8))  # 5 bits a character
    raw = "".join(CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def voucher_code_normalize(code: str) -> str:
    """A code as typed at a till (spaces, lower case) as it is stored: generated codes are upper case in groups."""
    return " ".join(str(code).split()).upper()


# What a till may mistype in a generated code: Crockford's base32 reads O as 0 and I, L as 1.
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def voucher_code_candidates(code: str) -> list[str]:
    """The stored codes that ``code``, as typed or scanned at a till, may stand for: the code normalized
    (``voucher_code_normalize``), as it was imported (a pool's own format), and, when it reads as a generated code
    (16 characters of ``CODE_ALPHABET`` once spaces and dashes are gone, O/I/L read as 0/1/1), that code in its
    groups. Empty for what cannot be a code (longer than a code, control characters): no lookup is needed."""
    code = str(code)
    if len(code) > 64 or not code.isprintable():
        return []
    typed = code.strip()
    normalized = voucher_code_normalize(code)
    candidates = [typed, normalized] if typed else []
    compact = "".join(normalized.replace("-", " ").split()).translate(_CROCKFORD_ALIASES)
    if len(compact) == CODE_LENGTH and set(compact) <= set(CODE_ALPHABET):
        candidates.append("-".join(compact[i : i + 4] for i in range(0, CODE_LENGTH, 4)))
    return list(dict.fromkeys(candidates))


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
            tier_id=member_tier_id_get(member=member),
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


def voucher_prize_issue(*, member, reward: Reward, key: str, now: datetime) -> Voucher | None:
    """Issue one voucher of ``reward`` to ``member`` as a prize (a mission's), at no points cost: a redemption
    of 0 points without a ledger entry, the unit taken from stock, the ``voucher.issued`` event.

    Runs in the caller's transaction (which holds the member's account lock), in a savepoint: a reward
    inactive, sold out or out of pool codes issues nothing and returns ``None`` rather than undo the
    purchase that won the prize. Idempotent on ``key`` (the member's portal redemptions' scope)."""
    if not reward.active or reward.kind == RewardKind.DONATION:
        return None
    found = Redemption.objects.filter(member=member, partner=None, idempotency_key=key).first()
    if found is not None:
        return found.vouchers.order_by("pk").first()
    try:
        with transaction.atomic():
            redemption = Redemption.objects.create(
                member=member, reward=reward, quantity=1, points=0, idempotency_key=key, created_at=now
            )
            _stock_take(reward, 1)
            vouchers = _vouchers_issue(redemption, reward, now)
    except OutOfStock:
        return None
    outbox.event_record(
        type=EventType.VOUCHER_ISSUED,
        member=member,
        now=now,
        data={
            "member": member.member_number,
            "redemption": redemption.pk,
            "reward": reward.code,
            "vouchers": [_voucher_public(voucher) for voucher in vouchers],
        },
    )
    return vouchers[0]


def voucher_prize_take_back(*, voucher: Voucher, now: datetime) -> bool:
    """Cancel a prize's voucher (its mission undone by a return) if it is still unused, its unit back to stock;
    a voucher used or expired stays as it is. True if it was cancelled. In the caller's transaction."""
    (locked,) = lock_objects.vouchers_for_update([voucher.pk])
    if locked.status != VoucherStatus.ISSUED:
        return False
    locked.status, locked.cancelled_at = VoucherStatus.CANCELLED, now
    locked.save(update_fields=["status", "cancelled_at"])
    _stock_give_back(locked.reward, 1)
    return True


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


def _limit_check(member, reward: Reward, quantity: int, now: datetime) -> None:
    """Refuse more units than the reward's per-member limit leaves in the period (cancelled vouchers do not count)."""
    if reward.limit_per_member is None:
        return
    donations = reward.kind == RewardKind.DONATION
    units = units_in_limit_period(member_id=member.pk, now=now, donations=donations)
    if units.filter(redemption__reward_id=reward.pk).count() + quantity > reward.limit_per_member:
        period = reward.get_limit_period_display().lower()
        raise LimitReached(
            f"This reward can be redeemed {reward.limit_per_member} times {period}.",
            limit=reward.limit_per_member,
            period=reward.limit_period,
        )


def _stock_take(reward: Reward, quantity: int) -> None:
    """Take units from stock in one conditional UPDATE: the row's lock orders racing redemptions, and a unit is sold
    once (the CHECK ``stock >= 0`` too). The stock is the row's now, not ``reward``'s as the request read it (staff
    may have limited it, or made it unlimited, meanwhile); an unlimited reward's row is matched by no UPDATE, so
    its redemptions lock nothing, and one more read tells it from a sold-out one."""
    taken = Reward.objects.filter(pk=reward.pk, stock__gte=quantity).update(stock=F("stock") - quantity)
    if not taken and Reward.objects.filter(pk=reward.pk, stock__isnull=False).exists():
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
            points=redemption.points // redemption.quantity,  # a prize's voucher cost nothing
            terms=terms,
            status=VoucherStatus.ISSUED,
            issued_at=now,
            expires_at=expires_at,
        )
        for code, pool_code in codes
    ]
    for attempt in range(CODE_ATTEMPTS):  # a generated code that exists already: 80 random bits make it a rarity
        try:
            with transaction.atomic():
                return Voucher.objects.bulk_create(vouchers)
        except IntegrityError:
            # A pool's code is the issuer's: it cannot be drawn again (and a clash is a double import).
            if attempt == CODE_ATTEMPTS - 1 or any(voucher.pool_code is not None for voucher in vouchers):
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
            charity=reward.charity,  # read once, not once per donation when the answer names it
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
    account (and a merged member's survivor's, which gets the points), then the voucher. Idempotent:
    cancelling a cancelled voucher returns it unchanged.
    Raises ``NotCancellable`` (used, expired, no window, the window is over) and the ledger's
    ``MemberClosed``. A gift card's code is not put back in its pool: the member has seen it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ledger_locks.accounts_for_update(_member_accounts(voucher.member))
        locked = lock_objects.vouchers_for_update([voucher.pk])[0]
        if locked.status == VoucherStatus.CANCELLED:
            return locked
        _voucher_cancel_locked(
            locked, Redemption.objects.select_related("entry").get(pk=locked.redemption_id), actor, now
        )
        locked.save(update_fields=CANCEL_FIELDS)
        _stock_give_back(locked.reward, 1)
    return locked


CANCEL_FIELDS = ["status", "cancelled_at", "reversal"]


def _member_accounts(member) -> set[int]:
    """The accounts a refund of ``member``'s points writes: its own and, merged, the survivor's."""
    survivor_account = Account.objects.filter(member__merged_members=member.pk).values_list("pk", flat=True)
    return {member.account.pk, *(survivor_account if member.merged_into_id else ())}


def _voucher_cancel_locked(locked: Voucher, redemption: Redemption, actor, now: datetime) -> None:
    """Refuse (``NotCancellable``) or reverse the points of a locked, issued voucher; the caller saves it."""
    reward = locked.reward
    if locked.status != VoucherStatus.ISSUED:
        raise NotCancellable(f"This voucher is {locked.get_status_display().lower()}.", status=locked.status)
    if locked.expires_at is not None and now >= locked.expires_at:  # the expiry task has not run yet
        raise NotCancellable("This voucher has expired.", status=VoucherStatus.EXPIRED)
    window_ends = redemption.created_at + timedelta(hours=reward.cancel_window_hours)
    if not reward.cancel_window_hours:
        raise NotCancellable("This reward cannot be cancelled once redeemed.", window_ends=None)
    if now >= window_ends:
        ends = window_ends.isoformat()
        raise NotCancellable(f"This voucher could be cancelled until {ends}.", window_ends=ends)
    locked.reversal = ledger.reverse(
        redemption.entry,
        points=locked.points,
        actor=actor,
        memo_code=memos.REWARD_CANCELLED,
        memo_params=_memo_params(locked),
        idempotency_key=f"voucher-cancel:{locked.pk}",
        now=now,
    )
    locked.status, locked.cancelled_at = VoucherStatus.CANCELLED, now


def _stock_give_back(reward: Reward, units: int) -> None:
    if reward.stock is not None and units:
        Reward.objects.filter(pk=reward.pk).update(stock=F("stock") + units)


def _memo_params(voucher: Voucher) -> dict:
    """The reward's names as the voucher's terms froze them (a reward renamed later keeps the history's words)."""
    terms = voucher.terms or {}
    return {"name": terms.get("name") or voucher.reward.name, "name_fr": terms.get("name_fr") or ""}


def redemption_cancel(*, redemption: Redemption, partner=None, now: datetime | None = None) -> list[Voucher]:
    """Cancel every voucher of ``redemption`` by ``voucher_cancel``'s rules, all or nothing: one voucher that cannot
    be cancelled (used, expired, outside the window) raises ``NotCancellable`` and cancels none; each cancelled
    voucher has its own reversal, and the units go back to stock in one update.

    ``partner``: the partner asking, which must be the one that redeemed (else ``NotFound``: a partner sees only
    its own redemptions); ``None`` for the member or staff. Idempotent: vouchers already cancelled stay as they
    are, and cancelling a cancelled redemption returns its vouchers. A donation cannot be cancelled (it was
    given). Locks the member's account, then the vouchers in id order. Returns the vouchers, in id order.
    """
    if partner is not None and redemption.partner_id != partner.pk:
        raise NotFound("This partner has no redemption with this id.")
    now = now or timezone.now()
    with transaction.atomic():
        ledger_locks.accounts_for_update(_member_accounts(redemption.member))
        ids = list(redemption.vouchers.order_by("pk").values_list("pk", flat=True))
        if not ids:
            raise NotCancellable("A donation cannot be cancelled: it was given to the charity.")
        vouchers = lock_objects.vouchers_for_update(ids)
        debit = Redemption.objects.select_related("entry").get(pk=redemption.pk)
        still_open = [voucher for voucher in vouchers if voucher.status != VoucherStatus.CANCELLED]
        for voucher in still_open:
            _voucher_cancel_locked(voucher, debit, partner, now)
        if still_open:
            Voucher.objects.bulk_update(still_open, CANCEL_FIELDS)
            _stock_give_back(still_open[0].reward, len(still_open))
        return vouchers


def voucher_use(*, code: str, partner, now: datetime | None = None) -> Voucher:
    """Mark the voucher with ``code`` (as typed at the till: ``voucher_code_candidates``) used by ``partner``, once.

    Checked under the locks of the member's account, then the voucher (the order of every voucher write): a used
    voucher raises ``AlreadyUsed`` (``details.used_at``), a cancelled or expired one ``VoucherNotUsable`` (also
    past its expiry before the task marked it), a partner the reward does not name ``NotEligible`` (reason
    ``partner``), and the member's status decides as for points: a suspended member spends nothing, a voucher
    included, though it is paid for (``MemberSuspended``; usable again once the member is active), a closed
    member's voucher is void (``MemberClosed``). A merged member's voucher is the survivor's: the survivor's
    status decides. Unknown code: ``NotFound``. Returns the used voucher (``used_at``, ``used_by``).
    """
    now = now or timezone.now()
    found = voucher_get_by_code(code=code)
    holder = found.member.merged_into or found.member
    with transaction.atomic():
        account = ledger_locks.account_for_update(holder.account.pk)
        voucher = lock_objects.vouchers_for_update([found.pk])[0]
        refusal = voucher_refusal(
            voucher,
            partner_ids=frozenset(voucher.reward.partners.values_list("pk", flat=True)),
            partner=partner,
            member_status=account.member_status,
            now=now,
        )
        if refusal is not None:
            raise refusal
        voucher.status, voucher.used_at, voucher.used_by = VoucherStatus.USED, now, partner
        voucher.save(update_fields=["status", "used_at", "used_by"])
        outbox.event_record(
            type=EventType.VOUCHER_USED,
            member=holder,
            partner=partner,
            now=now,
            data={"member": holder.member_number, "reward": voucher.reward.code, "voucher": _voucher_public(voucher)},
        )
    return voucher


def voucher_refusal(voucher: Voucher, *, partner_ids: frozenset, partner, member_status: str, now: datetime):
    """Why ``partner`` may not use ``voucher`` now (the error ``voucher_use`` raises), or ``None``. Pure: the API's
    validation of a code shows the same answer without using it."""
    if voucher.status == VoucherStatus.USED:
        return AlreadyUsed(used_at=voucher.used_at.isoformat())
    if voucher.status == VoucherStatus.CANCELLED:
        return VoucherNotUsable("This voucher was cancelled.", status=VoucherStatus.CANCELLED)
    if voucher.status == VoucherStatus.EXPIRED or (voucher.expires_at is not None and now >= voucher.expires_at):
        return VoucherNotUsable(
            f"This voucher expired on {voucher.expires_at.isoformat()}.", status=VoucherStatus.EXPIRED
        )
    if partner_ids and partner.pk not in partner_ids:
        return NotEligible("This partner does not accept this voucher.", reason="partner")
    if member_status == MemberStatus.CLOSED:
        return MemberClosed()
    if member_status != MemberStatus.ACTIVE:
        return MemberSuspended()
    return None


def vouchers_expire(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Expire every issued voucher past ``expires_at``: set-based, in batches of ``batch_size`` vouchers, each batch
    its own transaction.

    A voucher of a reward with ``refund_on_expiry`` gives its points back: ``ledger.reverse`` of its share of the
    redemption's debit (memo ``reward_expired_refunded``, idempotency key ``voucher-expiry:<id>``), its members'
    accounts (and a merged member's survivor's, where its refund goes) locked first in id order, then the
    vouchers; a closed member's account takes nothing back (its points were forfeited), so the voucher just
    expires. Others are expired by one ``UPDATE`` per batch. The unit
    does not go back to stock: the voucher was the member's until its end (an event's date is past, a gift card's
    code was shown). Safe to run twice or concurrently: a voucher is expired (and refunded) only while it is still
    issued under its lock, and vouchers a till holds right now are skipped (PostgreSQL) until the next run.
    Returns how many vouchers it expired.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.REWARDS_EXPIRY_BATCH_SIZE
    due = Voucher.objects.filter(status=VoucherStatus.ISSUED, expires_at__lte=now)
    expired = 0
    for refund in (False, True):
        last_id = 0
        while True:
            batch = list(
                due.filter(reward__refund_on_expiry=refund, pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", "member__account__id", "member__merged_into__account__id")[:batch_size]
            )
            if not batch:
                break
            last_id = batch[-1][0]
            with transaction.atomic():
                if refund:
                    expired += _vouchers_expire_refunding(batch, now)
                else:
                    expired += _vouchers_expire_plain([pk for pk, *_accounts in batch], now)
    return expired


def _vouchers_expire_plain(ids: list[int], now: datetime) -> int:
    locked = [v.pk for v in lock_objects.vouchers_for_update(ids, skip_locked=True)]
    return Voucher.objects.filter(pk__in=locked, status=VoucherStatus.ISSUED, expires_at__lte=now).update(
        status=VoucherStatus.EXPIRED, expired_at=now
    )


def _vouchers_expire_refunding(batch: list[tuple[int, int, int | None]], now: datetime) -> int:
    """A batch of ``(voucher, account, survivor's account)``: a merged member's refund goes to the survivor,
    whose account is locked with the others, in id order."""
    ids = {account_id for _pk, *accounts in batch for account_id in accounts if account_id is not None}
    accounts = {a.pk: a for a in ledger_locks.accounts_for_update(ids)}
    vouchers = lock_objects.vouchers_for_update([pk for pk, *_accounts in batch], skip_locked=True)
    vouchers = [v for v in vouchers if v.status == VoucherStatus.ISSUED and v.expires_at <= now]
    debits = dict(Redemption.objects.filter(pk__in={v.redemption_id for v in vouchers}).values_list("pk", "entry"))
    entries = Entry.objects.in_bulk(set(debits.values()))
    holder_of = {pk: survivor or account for pk, account, survivor in batch}
    for voucher in vouchers:
        if accounts[holder_of[voucher.pk]].member_status != MemberStatus.CLOSED:
            voucher.reversal = ledger.reverse(
                entries[debits[voucher.redemption_id]],
                points=voucher.points,
                memo_code=memos.REWARD_EXPIRED_REFUNDED,
                memo_params=_memo_params(voucher),
                idempotency_key=f"voucher-expiry:{voucher.pk}",
                now=now,
            )
        voucher.status, voucher.expired_at = VoucherStatus.EXPIRED, now
    Voucher.objects.bulk_update(vouchers, ["status", "expired_at", "reversal"])
    return len(vouchers)
