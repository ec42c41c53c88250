"""``ledger.credit_all``: several credits to one account under one lock write the rows of ``ledger.credit`` called
once per credit (a purchase's points and the mission prizes it completes)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from loyalty.exceptions import MemberSuspended, ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Shortfall
from members.models import Member, MemberStatus
from members.services import member_status_change
from members.tiers.models import MemberTier, QualifyingDay
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import program_tiers
from tests.ledger.test_credit_many import NOW, _Rollback, _rows

pytestmark = pytest.mark.django_db


def _specs() -> list[dict]:
    """An earn with its spend held for a return window, then two bonuses (one of them never expiring)."""
    return [
        {"points": 120, "kind": "earn", "available_at": NOW + timedelta(days=14), "spend_amount": Decimal("12.00")},
        {"points": 25, "kind": "bonus"},
        {"points": 40, "kind": "bonus", "expires_on": None},
    ]


def _credit_all(account, shop, specs):
    return ledger.credit_all(
        account, [ledger.CreditSpec(account_id=account.pk, cause=shop, actor=shop, **spec) for spec in specs], now=NOW
    )


def _credit_each(account, shop, specs):
    for spec in specs:
        spec = dict(spec)
        ledger.credit(account, spec.pop("points"), spec.pop("kind"), cause=shop, actor=shop, now=NOW, **spec)


def _given():
    program_tiers()
    return MemberFactory().account, PartnerFactory(name="Shop")


def test_credit_all_writes_the_rows_of_one_credit_per_spec():
    # given
    account, shop = _given()
    specs = _specs()
    try:
        with transaction.atomic():
            _credit_each(account, shop, specs)
            by_credit = _rows()
            raise _Rollback
    except _Rollback:
        pass

    # when
    entries = _credit_all(account, shop, specs)

    # then
    assert _rows() == by_credit
    assert [(entry.kind, entry.amount) for entry in entries] == [("earn", 120), ("bonus", 25), ("bonus", 40)]
    account.refresh_from_db()
    assert (account.balance, account.pending, account.lifetime_earned) == (65, 120, 185)
    assert QualifyingDay.objects.get(member_id=account.member_id).spend_amount == Decimal("12.00")
    assert audit() == []


def test_each_credit_pays_the_debt_first_in_turn():
    # given: the account owes 70 points (a return after they were spent)
    account, shop = _given()
    earned = ledger.credit(account, 100, now=NOW - timedelta(days=3))
    ledger.debit(account, 70, now=NOW - timedelta(days=3))
    ledger.reverse(earned, shortfall=Shortfall.DEBT, now=NOW - timedelta(days=2))
    account.refresh_from_db()
    assert account.debt == 70

    # when
    _credit_all(account, shop, [{"points": 50, "kind": "earn"}, {"points": 30, "kind": "bonus"}])

    # then: 50 repay, then 20 of the 30; 10 left
    account.refresh_from_db()
    assert (account.balance, account.debt) == (10, 0)
    kinds = list(account.entries.order_by("pk").values_list("kind", "amount")[3:])
    assert kinds == [("earn", 50), ("repay", -50), ("bonus", 30), ("repay", -20)]
    assert audit() == []


def test_a_credit_that_reaches_a_tier_upgrades_the_member_once():
    account, shop = _given()

    _credit_all(account, shop, [{"points": 300, "kind": "earn"}, {"points": 400, "kind": "bonus"}])

    assert MemberTier.objects.get(member_id=account.member_id).tier.name == "Silver"
    assert QualifyingDay.objects.get(member_id=account.member_id).points == 700


def test_a_suspended_member_gets_nothing_and_nothing_is_written():
    account, shop = _given()
    member_status_change(
        member=Member.objects.get(pk=account.member_id), status=MemberStatus.SUSPENDED, reason="Audit"
    )
    before = _rows()

    with pytest.raises(MemberSuspended):
        _credit_all(account, shop, [{"points": 10, "kind": "earn"}])

    assert _rows() == before


@pytest.mark.parametrize(
    "spec",
    [
        {"points": 0, "kind": "earn"},
        {"points": 10, "kind": "adjust"},
        {"points": 10, "kind": "earn", "spend_amount": 5},
    ],
)
def test_bad_credits_are_refused_before_anything_is_written(spec):
    account, shop = _given()
    before = _rows()

    with pytest.raises(ValidationError):
        _credit_all(account, shop, [{"points": 5, "kind": "bonus"}, spec])

    assert _rows() == before


def test_every_spec_names_the_account_credited():
    account, shop = _given()
    other = MemberFactory().account

    with pytest.raises(ValueError, match="one account"):
        ledger.credit_all(account, [ledger.CreditSpec(account_id=other.pk, points=5)], now=NOW)
    assert ledger.credit_all(account, [], now=NOW) == []
