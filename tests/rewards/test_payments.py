"""Pay with points at a till (rewards.payments): the share of the basket, the presence code, the external id."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.exceptions import (
    CurrencyMismatch,
    ExternalIdConflict,
    HoldNotOpen,
    HoldOutOfRange,
    InsufficientPoints,
    MemberMerged,
    MemberSuspended,
    NotFound,
    NotReversible,
    PresenceCodeInvalid,
    PresenceCodeRequired,
    PresenceCodeUsed,
)
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit, audit_causes
from loyalty.ledger.models import Entry, EntryKind, HoldStatus
from loyalty.partners.models import PresenceCode
from loyalty.partners.services import presence_code_issue
from members.models import MemberStatus
from members.services import member_merge, member_status_change
from rewards import payments
from rewards.models import PointsPayment
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import ledger_state


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Bakery")


@pytest.fixture
def member(partner):
    """A member the bakery enrolled, with 3,000 points."""
    member = MemberFactory(enrolled_by=partner)
    ledger.credit(member.account, 3000, expires_on=None, cause=member)
    return member


@pytest.fixture(autouse=True)
def shares(settings):
    settings.LOYALTY_POINT_VALUE = Decimal("0.01")
    settings.LOYALTY_HOLD_MIN_SHARE = Decimal("0.10")
    settings.LOYALTY_HOLD_MAX_SHARE = Decimal("0.50")
    settings.LOYALTY_HOLD_MINUTES = 15


def proof_for(member, partner, external_id="basket-1"):
    _, code = presence_code_issue(member=member)
    return payments.points_payment_proof_check(
        partner=partner, member=member, external_id=external_id, presence_code=code
    )


def hold(member, partner, basket="42.50", points=None, external_id="basket-1", proof="issue", **kwargs):
    if proof == "issue":
        proof = proof_for(member, partner, external_id)
    return payments.points_payment_hold(
        partner=partner,
        member=member,
        basket_amount=Decimal(basket),
        currency=kwargs.pop("currency", "EUR"),
        points=points,
        external_id=external_id,
        proof=proof,
        **kwargs,
    )


def test_without_points_the_hold_takes_the_most_the_max_share_allows(member, partner):
    placed = hold(member, partner)

    payment = placed.payment
    assert placed.created
    assert (payment.points, payment.discount_amount, payment.basket_amount, payment.currency) == (
        2125,
        Decimal("21.25"),
        Decimal("42.50"),
        "EUR",
    )
    assert (payment.hold.status, payment.hold.points, payment.hold.actor, payment.hold.cause) == (
        HoldStatus.OPEN,
        2125,
        partner,
        payment,
    )
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held) == (875, 2125)
    assert audit() == []
    assert audit_causes() == []


def test_without_points_a_small_balance_is_held_whole(member, partner):
    placed = hold(member, partner, basket="100.00")  # the max share is 5,000 points, the balance 3,000

    assert (placed.payment.points, placed.payment.discount_amount) == (3000, Decimal("30.00"))


def test_the_hold_lasts_the_settings_minutes(member, partner):
    now = timezone.now()

    placed = hold(member, partner, now=now)

    assert placed.payment.hold.expires_at == now + timedelta(minutes=15)


def test_the_discount_is_rounded_down_so_points_never_buy_more_than_their_value(member, partner, settings):
    settings.LOYALTY_POINT_VALUE = Decimal("0.015")

    placed = hold(member, partner, basket="100.00", points=667)

    assert placed.payment.discount_amount == Decimal("10.00")  # 10.005
    assert payments.points_value(333) == Decimal("4.99")  # 4.995


@pytest.mark.parametrize(
    ("points", "basket"),
    [(424, "42.50"), (2126, "42.50"), (None, "0.01")],
    ids=["under the min share", "over the max share", "a basket too small for one point"],
)
def test_points_outside_the_shares_are_refused_and_nothing_changes(member, partner, points, basket):
    before = ledger_state(member.account)
    proof = proof_for(member, partner)

    with pytest.raises(HoldOutOfRange) as refused:
        hold(member, partner, basket=basket, points=points, proof=proof)

    least, most = payments.points_range(Decimal(basket))
    assert refused.value.details == {"field": "points", "min_points": least, "max_points": most}
    assert (least, most) == ((425, 2125) if basket == "42.50" else (1, 0))
    assert ledger_state(member.account) == before
    assert not PointsPayment.objects.exists()
    assert PresenceCode.objects.get().used_at is None  # the code stays usable


def test_a_balance_under_the_min_share_is_insufficient_points(member, partner):
    ledger.debit(member.account, 2800)  # 200 left; 42.50 takes 425 points at least

    with pytest.raises(InsufficientPoints) as refused:
        hold(member, partner)

    assert refused.value.details == {"available": 200, "requested": 425}


def test_a_hold_beyond_the_balance_is_insufficient_points(member, partner):
    with pytest.raises(InsufficientPoints):
        hold(member, partner, basket="70.00", points=3001)

    assert not PointsPayment.objects.exists()


def test_the_presence_code_is_always_needed_even_for_the_enrolling_partner(member, partner):
    before = ledger_state(member.account)

    with pytest.raises(PresenceCodeRequired):
        payments.points_payment_proof_check(partner=partner, member=member, external_id="b", presence_code=None)
    with pytest.raises(PresenceCodeRequired):
        hold(member, partner, proof=None)

    assert ledger_state(member.account) == before


def test_the_code_is_spent_with_the_hold_and_only_once(member, partner):
    proof = proof_for(member, partner)
    hold(member, partner, points=500, proof=proof)

    assert PresenceCode.objects.get().used_by == partner
    with pytest.raises(PresenceCodeUsed):
        hold(member, partner, points=500, external_id="basket-2", proof=proof)


def test_another_members_code_is_refused(member, partner):
    someone = MemberFactory()

    with pytest.raises(PresenceCodeInvalid):
        hold(member, partner, proof=proof_for(someone, partner))


def test_another_currency_is_refused(member, partner):
    with pytest.raises(CurrencyMismatch) as refused:
        hold(member, partner, currency="USD")

    assert refused.value.details == {"field": "currency", "expected": "EUR"}


def test_the_same_external_id_and_content_answer_the_first_hold(member, partner):
    first = hold(member, partner, points=500)

    assert payments.points_payment_proof_check(
        partner=partner, member=member, external_id="basket-1", presence_code=None
    ) is None  # fmt: skip
    again = hold(member, partner, points=500, proof=None)

    assert (again.created, again.payment.pk) == (False, first.payment.pk)
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held) == (2500, 500)


def test_the_same_external_id_with_other_content_is_a_conflict(member, partner):
    hold(member, partner, points=500)

    with pytest.raises(ExternalIdConflict):
        hold(member, partner, points=501, proof=None)

    assert PointsPayment.objects.count() == 1


def test_another_partner_may_use_the_same_external_id(member, partner):
    other = PartnerFactory()
    hold(member, partner, points=500)

    second = hold(member, other, points=500)

    assert second.created
    assert PointsPayment.objects.count() == 2


def test_a_merged_number_is_refused(member, partner):
    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, reason="duplicate")
    member.refresh_from_db()

    with pytest.raises(MemberMerged):
        hold(member, partner, proof=None)


def test_capturing_less_spends_part_and_gives_the_rest_back(member, partner):
    payment = hold(member, partner, points=2000).payment

    payments.points_payment_capture(partner=partner, payment=payment, points=1500)

    payment.hold.refresh_from_db()
    assert (payment.hold.status, payment.hold.captured, payment.hold.released) == (HoldStatus.CAPTURED, 1500, 500)
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held, member.account.lifetime_spent) == (1500, 0, 1500)
    assert payments.points_value(payment.hold.captured) == Decimal("15.00")
    assert audit() == []


def test_a_void_gives_every_point_back(member, partner):
    payment = hold(member, partner, points=2000).payment

    payments.points_payment_void(partner=partner, payment=payment)

    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held) == (3000, 0)
    with pytest.raises(HoldNotOpen):
        payments.points_payment_capture(partner=partner, payment=payment)


def test_a_refund_of_a_captured_basket_gives_the_points_back(member, partner):
    payment = hold(member, partner, points=2000).payment
    payments.points_payment_capture(partner=partner, payment=payment, points=1500)

    part = payments.points_payment_refund(partner=partner, payment=payment, points=500, idempotency_key="r-1")
    repeat = payments.points_payment_refund(partner=partner, payment=payment, points=500, idempotency_key="r-1")
    rest = payments.points_payment_refund(partner=partner, payment=payment, idempotency_key="r-2")

    assert (part.pk, part.kind, part.amount, rest.amount) == (repeat.pk, EntryKind.REVERSE, 500, 1000)
    assert (part.actor, part.cause) == (partner, payment)
    assert payment.hold.refunded == 1500
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.lifetime_spent) == (3000, 0)
    with pytest.raises(NotReversible):
        payments.points_payment_refund(partner=partner, payment=payment, points=1, idempotency_key="r-3")
    assert audit() == []


def test_an_open_or_voided_hold_cannot_be_refunded(member, partner):
    payment = hold(member, partner, points=2000).payment
    with pytest.raises(NotReversible) as refused:
        payments.points_payment_refund(partner=partner, payment=payment)
    assert refused.value.details == {"reversible": 0}

    payments.points_payment_void(partner=partner, payment=payment)

    with pytest.raises(NotReversible):
        payments.points_payment_refund(partner=partner, payment=payment)
    assert Entry.objects.filter(kind=EntryKind.REVERSE).count() == 0


def test_a_partner_acts_on_its_own_payments_only(member, partner):
    payment = hold(member, partner, points=2000).payment
    other = PartnerFactory()
    before = ledger_state(member.account)

    for act in (payments.points_payment_capture, payments.points_payment_void, payments.points_payment_refund):
        with pytest.raises(NotFound):
            act(partner=other, payment=payment)

    assert ledger_state(member.account) == before
    payment.hold.refresh_from_db()
    assert payment.hold.status == HoldStatus.OPEN


def test_a_suspended_member_holds_nothing_and_its_holds_are_only_voided(member, partner):
    payment = hold(member, partner, points=2000).payment
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="phone call")
    member.refresh_from_db()

    with pytest.raises(MemberSuspended):
        hold(member, partner, points=500, external_id="basket-2")
    with pytest.raises(MemberSuspended):
        payments.points_payment_capture(partner=partner, payment=payment)

    payments.points_payment_void(partner=partner, payment=payment)
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held) == (3000, 0)


def test_the_scheduled_release_gives_back_a_basket_not_captured_in_time(member, partner):
    now = timezone.now()
    payment = hold(member, partner, points=2000, now=now).payment

    assert ledger.holds_release_expired(now=now + timedelta(minutes=15)) == 1

    payment.hold.refresh_from_db()
    assert payment.hold.status == HoldStatus.EXPIRED
    with pytest.raises(HoldNotOpen) as refused:
        payments.points_payment_capture(partner=partner, payment=payment)
    assert refused.value.details == {"status": HoldStatus.EXPIRED}
    assert audit() == []
