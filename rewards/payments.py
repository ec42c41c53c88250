"""Pay with points at a till: a partner holds points against a basket, then captures, voids or refunds them.

The flow is the ledger's two-phase hold (``loyalty.ledger.services.hold``, models.py
"Holds"): ``points_payment_hold`` sets the points aside at the program's rate
(``LOYALTY_POINT_VALUE`` a point) within the share of the basket points may pay
(``LOYALTY_HOLD_MIN_SHARE`` to ``LOYALTY_HOLD_MAX_SHARE``) for ``LOYALTY_HOLD_MINUTES``;
``points_payment_capture`` spends them (all or less, the rest goes back) when the sale
completes, ``points_payment_void`` gives them all back, and the scheduled task
``ledger.release_expired_holds`` gives back what was not captured in time. A refund of a
captured basket (``points_payment_refund``) gives the points back through ``ledger.reverse``.

Placing a hold always needs the member's presence code, even for the partner that enrolled
the member: it is checked before (``points_payment_proof_check``, its attempt committed) and
spent in the hold's transaction. Lock order: the member's points account, then the presence
code, then the hold (the ledger's).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.exceptions import (
    CurrencyMismatch,
    ExternalIdConflict,
    HoldOutOfRange,
    InsufficientPoints,
    MemberMerged,
    NotFound,
    NotReversible,
    PresenceCodeInvalid,
    PresenceCodeRequired,
    ValidationError,
)
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, HoldStatus
from loyalty.partners.services import PresenceProof, presence_code_check, presence_code_consume

from .models import PointsPayment

CENT = Decimal("0.01")
MAX_BASKET = Decimal("999999999999.99")


@dataclass(frozen=True)
class PaymentPlaced:
    payment: PointsPayment
    created: bool  # false: a repeat of the partner's external id with the same content


def points_value(points: int) -> Decimal:
    """What ``points`` take off a basket: ``LOYALTY_POINT_VALUE`` each, rounded down to the cent (never more)."""
    return (points * settings.LOYALTY_POINT_VALUE).quantize(CENT, ROUND_DOWN)


def points_range(basket_amount: Decimal) -> tuple[int, int]:
    """The fewest and the most points that may pay part of ``basket_amount``: the settings' min and max shares."""
    value = settings.LOYALTY_POINT_VALUE
    least = (basket_amount * settings.LOYALTY_HOLD_MIN_SHARE / value).to_integral_value(ROUND_CEILING)
    most = (basket_amount * settings.LOYALTY_HOLD_MAX_SHARE / value).to_integral_value(ROUND_FLOOR)
    return max(int(least), 1), int(most)


def points_payment_proof_check(
    *, partner, member, external_id: str, presence_code: str | None
) -> PresenceProof | None:
    """The member's presence, checked before the hold (``presence_code_check``: a wrong attempt counts, committed).

    Always required (``PresenceCodeRequired``), even for the partner that enrolled the member; but
    a repeat of an external id this partner used already needs none (``None``): the hold answers
    it as the first time, or as a conflict. Must not run inside a transaction.
    """
    if PointsPayment.objects.filter(partner_id=partner.pk, external_id=external_id).exists():
        return None
    if not presence_code:
        raise PresenceCodeRequired("Paying with points needs the member's presence code, shown by their portal.")
    return presence_code_check(member=member, code=presence_code)


def points_payment_hold(
    *,
    partner,
    member,
    basket_amount: Decimal,
    currency: str,
    points: int | None = None,
    external_id: str,
    proof: PresenceProof | None,
    now: datetime | None = None,
) -> PaymentPlaced:
    """Hold points of ``member`` against ``partner``'s basket, for ``LOYALTY_HOLD_MINUTES``; returns the payment.

    ``points`` None: the most the max share and the balance allow. One transaction: the account
    locked, the presence ``proof`` spent, the ledger hold (cause the payment, actor the partner).
    Idempotent per partner on ``external_id``: the same content again returns the first payment
    (``created`` false, no code spent); other content raises ``ExternalIdConflict``. Raises, writing
    nothing: ``ValidationError``, ``CurrencyMismatch``, ``HoldOutOfRange`` (``details.min_points``,
    ``max_points``), ``PresenceCodeRequired`` / ``PresenceCodeInvalid`` and the consume errors,
    ``MemberMerged``, and the ledger's ``InsufficientPoints``, ``MemberSuspended``, ``MemberClosed``.
    """
    now = now or timezone.now()
    basket_amount = _money(basket_amount)
    if not isinstance(currency, str) or currency.upper() != settings.LOYALTY_CURRENCY:
        raise CurrencyMismatch(
            f"The program counts in {settings.LOYALTY_CURRENCY}, not {currency}.",
            field="currency",
            expected=settings.LOYALTY_CURRENCY,
        )
    if not isinstance(external_id, str) or not 0 < len(external_id) <= 64:
        raise ValidationError("An external id has 1 to 64 characters.", field="external_id")
    if points is not None and (isinstance(points, bool) or not isinstance(points, int) or points <= 0):
        raise ValidationError("Points must be a whole number greater than zero.", field="points")
    if member.merged_into_id is not None:
        raise MemberMerged(merged_into=member.merged_into.member_number)
    body_hash = _hash(
        {"member": member.member_number, "basket_amount": str(basket_amount), "currency": currency.upper(),
         "points": points}
    )  # fmt: skip
    least, most = points_range(basket_amount)

    with transaction.atomic():
        account = ledger_locks.account_for_update(member.account.pk)
        if found := _repeat(partner, external_id, body_hash):  # after the lock: a racing repeat is seen
            return PaymentPlaced(found, created=False)
        if proof is None:
            raise PresenceCodeRequired("Paying with points needs the member's presence code, shown by their portal.")
        if proof.member_id != member.pk:
            raise PresenceCodeInvalid()
        wanted = min(most, account.balance) if points is None else points
        if not least <= wanted <= most:
            if points is None and account.balance < least <= most:
                raise InsufficientPoints(
                    f"Only {account.balance} points are available; this basket takes {least} at least.",
                    available=account.balance,
                    requested=least,
                )
            raise HoldOutOfRange(
                f"Points may pay {least} to {most} points of this basket.",
                field="points",
                min_points=least,
                max_points=most,
            )
        presence_code_consume(proof=proof, partner=partner, now=now)
        payment = PointsPayment(
            partner=partner,
            member=member,
            external_id=external_id,
            body_hash=body_hash,
            basket_amount=basket_amount,
            currency=currency.upper(),
            points=wanted,
            discount_amount=points_value(wanted),
            created_at=now,
        )
        try:
            with transaction.atomic():
                payment.save(force_insert=True)
        except IntegrityError:  # the same external id for another member, committed meanwhile
            if found := _repeat(partner, external_id, body_hash):
                return PaymentPlaced(found, created=False)
            raise
        payment.hold = ledger.hold(
            member.account,
            wanted,
            expires_at=now + timedelta(minutes=settings.LOYALTY_HOLD_MINUTES),
            cause=payment,
            actor=partner,
            now=now,
        )
        PointsPayment.objects.filter(pk=payment.pk).update(hold=payment.hold)
    return PaymentPlaced(payment, created=True)


def points_payment_capture(*, partner, payment: PointsPayment, points: int | None = None) -> PointsPayment:
    """Spend the held points when the sale completes: all, or ``points`` fewer (the rest goes back at once).

    Raises ``NotFound`` (another partner's payment), ``HoldNotOpen`` (captured, voided or
    expired: ``details.status``), ``HoldOutOfRange`` (more than held), ``MemberSuspended``,
    ``MemberClosed``. Locks the account, then the hold.
    """
    _require_own(partner, payment)
    ledger.hold_capture(payment.hold, points=points, actor=partner)
    return payment


def points_payment_void(*, partner, payment: PointsPayment) -> PointsPayment:
    """Give every held point back (the sale was cancelled). Raises ``NotFound``, ``HoldNotOpen``, ``MemberClosed``."""
    _require_own(partner, payment)
    ledger.hold_void(payment.hold, actor=partner)
    return payment


def points_payment_refund(
    *, partner, payment: PointsPayment, points: int | None = None, idempotency_key: str | None = None
) -> Entry:
    """Give back captured points of a refunded basket (all that is left to refund, or ``points``) to the lots
    they came from, by ``ledger.reverse`` of the capture. Returns the reversal entry.

    Idempotent on ``idempotency_key`` (the partner's). Raises ``NotFound``, ``NotReversible``
    (nothing captured, or more than is left to refund: ``details.reversible``), ``MemberClosed``.
    """
    _require_own(partner, payment)
    hold = payment.hold
    if hold.status != HoldStatus.CAPTURED:
        raise NotReversible(
            f"Only a captured payment can be refunded; this one is {hold.get_status_display().lower()}.",
            reversible=0,
        )
    with transaction.atomic():
        reversal = ledger.reverse(
            hold.capture_entry,
            points=points,
            actor=partner,
            idempotency_key=idempotency_key,
        )
        hold.refresh_from_db(fields=["refunded"])
    return reversal


def _require_own(partner, payment: PointsPayment) -> None:
    if payment.partner_id != partner.pk:
        raise NotFound("This partner has no such payment.")


def _repeat(partner, external_id: str, body_hash: str) -> PointsPayment | None:
    """The partner's payment with this external id if it has the same content; ``ExternalIdConflict`` if not."""
    found = PointsPayment.objects.select_related("hold").filter(partner_id=partner.pk, external_id=external_id).first()
    if found is None:
        return None
    if found.body_hash != body_hash:
        raise ExternalIdConflict(field="external_id")
    return found


def _money(amount) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount > MAX_BASKET:
        raise ValidationError("A basket's amount is more than zero.", field="basket_amount")
    if amount != amount.quantize(CENT):
        raise ValidationError("A basket's amount has at most two decimals.", field="basket_amount")
    return amount.quantize(CENT)


def _hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
