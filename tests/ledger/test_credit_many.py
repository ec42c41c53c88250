"""``ledger.credit_many`` writes exactly the rows of ``ledger.credit`` called once per credit, in a few statements."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from loyalty.exceptions import MemberSuspended
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, Entry, Lot
from members.models import Member, MemberStatus
from members.services import member_status_change
from members.tiers.models import MemberTier, QualifyingDay, Tier, TierChange
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import program_tiers
from tests.ledger.test_golden import _ranks, _value

NOW = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)
TABLES = (Account, Entry, Lot, QualifyingDay, MemberTier, TierChange)


class _Rollback(Exception):
    pass


def _rows() -> dict:
    models = (*TABLES, Member, Tier, PartnerFactory._meta.model)
    ranks = {model._meta.model_name: _ranks(model) for model in models}
    ranks["membertier"] = ranks["member"]
    out = {}
    for model in TABLES:
        fields = [
            field for field in model._meta.concrete_fields if not (model is Account and field.name == "created_at")
        ]
        out[model._meta.model_name] = [
            {field.name: _value(field, getattr(row, field.attname), row, ranks) for field in fields}
            for row in model.objects.order_by("pk")
        ]
    return out


def _given_members():
    """Three members and a partner; the second is Silver already (600 points a week earlier)."""
    program_tiers()
    shop = PartnerFactory(name="Bulk shop")
    first, second, third = (MemberFactory().account for _ in range(3))
    ledger.credit(second, 600, cause=shop, actor=shop, now=NOW - timedelta(days=7))
    return shop, first, second, third


def _credits(shop, first, second, third) -> list[dict]:
    """Running past two tiers in one batch, a member already in a tier, pending points, explicit expiries."""
    return [
        {"account": first, "points": 300, "spend_amount": Decimal("30.10")},
        {"account": second, "points": 1500, "kind": "bonus"},
        {"account": first, "points": 250, "expires_on": date(2027, 12, 31)},
        {"account": third, "points": 100, "available_at": NOW + timedelta(days=14), "expires_on": None},
        {"account": first, "points": 1600},
        {"account": third, "points": 40, "spend_amount": Decimal("4.05")},
    ]


def _with_credit(shop, credits):
    for c in credits:
        options = {key: c[key] for key in ("expires_on", "available_at", "spend_amount") if key in c}
        ledger.credit(c["account"], c["points"], c.get("kind", "earn"), cause=shop, actor=shop, now=NOW, **options)


def _with_credit_many(shop, credits):
    specs = [
        ledger.CreditSpec(
            account_id=c["account"].pk,
            points=c["points"],
            kind=c.get("kind", "earn"),
            cause=shop,
            actor=shop,
            **{key: c[key] for key in ("expires_on", "available_at", "spend_amount") if key in c},
        )
        for c in credits
    ]
    return ledger.credit_many(specs, now=NOW)


@pytest.mark.django_db
def test_credit_many_writes_the_rows_that_one_credit_per_spec_writes():
    # given
    shop, *accounts = _given_members()
    credits = _credits(shop, *accounts)
    try:
        with transaction.atomic():
            _with_credit(shop, credits)
            by_credit = _rows()
            raise _Rollback
    except _Rollback:
        pass

    # when
    entries = _with_credit_many(shop, credits)

    # then
    assert _rows() == by_credit
    assert [entry.amount for entry in entries] == [300, 1500, 250, 100, 1600, 40]
    assert list(Entry.objects.filter(pk__in=[e.pk for e in entries]).order_by("pk")) == entries
    assert TierChange.objects.filter(member_id=accounts[0].member_id).count() == 2  # Silver, then Gold


@pytest.mark.django_db
def test_a_suspended_member_refuses_the_whole_batch_and_nothing_is_written():
    # given
    shop, first, second, third = _given_members()
    member_status_change(member=Member.objects.get(pk=third.member_id), status=MemberStatus.SUSPENDED, reason="Audit")
    before = _rows()

    # when
    with pytest.raises(MemberSuspended):
        _with_credit_many(shop, _credits(shop, first, second, third))

    # then
    assert _rows() == before


@pytest.mark.django_db
def test_credit_many_takes_a_fixed_number_of_statements(django_assert_max_num_queries):
    # given
    program_tiers()
    shop = PartnerFactory(name="Bulk shop")
    accounts = [MemberFactory().account for _ in range(30)]
    specs = [
        ledger.CreditSpec(account_id=a.pk, points=700, cause=shop, spend_amount=Decimal("7.00")) for a in accounts
    ]
    ledger.credit_many(specs[:1], now=NOW)  # content types cached

    # when / then: the same statements for 29 credits as for one (COPY is not counted: 2 more on PostgreSQL)
    with django_assert_max_num_queries(14):
        ledger.credit_many(specs[1:], now=NOW)
    assert QualifyingDay.objects.get(member_id=accounts[5].member_id).spend_amount == Decimal("7.00")
    assert MemberTier.objects.filter(tier__name="Silver").count() == 30
