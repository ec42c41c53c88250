"""One fixed scenario, run on the current database, must write exactly the stored rows.

The ledger writes on PostgreSQL with SQL statements and on SQLite with the ORM; this test
holds both paths to the same rows of accounts, entries, lots, allocations, causes and the
qualifying days that tiers read
(``golden_rows.json``). Ids are replaced by their rank (1 for the first row of a table),
content types by ``app.model``, times by UTC ISO strings. After a deliberate change of
what the ledger writes, regenerate the file with ``LEDGER_GOLDEN_WRITE=1`` on one
database and check that the other passes unchanged.
"""

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, Adjustment, Allocation, Entry, ExpiryRun, Lot
from members.models import Member
from members.tiers.models import QualifyingDay
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

GOLDEN = Path(__file__).with_name("golden_rows.json")
DAY = [datetime(2027, 1, d, 10, tzinfo=UTC) for d in range(1, 32)]
TABLES = {"account": Account, "entry": Entry, "lot": Lot, "allocation": Allocation, "qualifyingday": QualifyingDay}
CAUSES = {"expiryrun": ExpiryRun, "adjustment": Adjustment}


def run_scenario():
    """Credits pending and not, debits across lots, reversals both ways, expiry (run and settling), a forfeit,
    a gift and a merge (pending lots included), a debt repaid three ways and a shortfall written off."""
    shop = PartnerFactory(name="Golden shop")
    first, second = MemberFactory().account, MemberFactory().account
    ledger.credit(first, 100, expires_on=date(2027, 1, 10), cause=shop, actor=shop, idempotency_key="o-1", now=DAY[0])
    ledger.credit(first, 50, expires_on=None, cause=shop, actor=shop, memo="Till 3", now=DAY[0])
    ledger.credit(first, 70, available_at=DAY[4], expires_on=date(2027, 1, 20), cause=shop, now=DAY[1])
    spend = ledger.debit(first, 120, cause=shop, actor=shop, idempotency_key="o-2", now=DAY[2])
    ledger.reverse(spend, points=30, idempotency_key="r-1", now=DAY[3])
    ledger.adjust(first, 15, reason="Lost receipt", qualifying=True, now=DAY[3])
    ledger.adjust(first, -5, reason="Goodwill given twice", now=DAY[3])
    ledger.release_pending(now=DAY[5])
    ledger.expire_due(now=DAY[11])
    ledger.debit(first, 10, cause=shop, now=DAY[21])  # settles: the 70-lot's rest expires first
    ledger.credit(second, 40, expires_on=date(2027, 1, 15), cause=shop, now=DAY[0])
    gift = ledger.credit(second, 25, expires_on=None, cause=shop, now=DAY[0])
    ledger.reverse(gift, now=DAY[2])
    member = Member.objects.get(pk=second.member_id)
    ledger.forfeit(second, reason="Closed at the member's request", cause=member, now=DAY[4])
    third = MemberFactory().account
    ledger.credit(third, 60, available_at=DAY[28], expires_on=date(2027, 3, 31), cause=shop, now=DAY[22])
    ledger.credit(third, 20, expires_on=date(2027, 2, 28), cause=shop, now=DAY[22])
    sender = Member.objects.get(pk=first.member_id)
    ledger.transfer(first, third, 12, "gift", cause=sender, actor=sender, idempotency_key="g-1", now=DAY[22])
    merged = Member.objects.get(pk=third.member_id)
    ledger.transfer(third, first, None, "merge", cause=merged, memo="Duplicate", now=DAY[23])
    # Debt: a return of spent points leaves 70 owed, paid by a pending credit, a debit's reversal
    # and a gift received; a second return's shortfall is written off.
    fourth = MemberFactory().account
    earned = ledger.credit(fourth, 80, expires_on=None, cause=shop, spend_amount=Decimal("80.00"), now=DAY[24])
    spent = ledger.debit(fourth, 70, cause=shop, now=DAY[24])
    ledger.reverse(
        earned, shortfall="debt", spend_amount=Decimal("80.00"), actor=shop, idempotency_key="ret-1", now=DAY[25]
    )
    ledger.credit(fourth, 30, available_at=DAY[28], expires_on=date(2027, 3, 31), cause=shop, now=DAY[25])
    ledger.reverse(spent, points=20, now=DAY[26])
    ledger.transfer(first, fourth, 25, "gift", cause=sender, now=DAY[26])
    bonus = ledger.credit(fourth, 40, "bonus", expires_on=None, cause=shop, now=DAY[27])
    ledger.debit(fourth, 45, cause=shop, now=DAY[27])
    ledger.reverse(bonus, shortfall="write_off", actor=shop, now=DAY[27])


def rows() -> dict:
    ranks = {name: _ranks(model) for name, model in {**TABLES, **CAUSES}.items()}
    ranks["member"] = _ranks(Member)
    ranks["partner"] = _ranks(PartnerFactory._meta.model)
    out = {}
    for name, model in {**TABLES, **CAUSES}.items():
        fields = [f for f in model._meta.concrete_fields if f.name not in ("created_at",) or model is not Account]
        out[name] = [
            {f.name: _value(f, getattr(row, f.attname), row, ranks) for f in fields}
            for row in model.objects.order_by("pk")
        ]
    return out


def _ranks(model) -> dict:
    return {pk: rank for rank, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True), start=1)}


def _value(field, value, row, ranks):
    if field.primary_key:
        return ranks[field.model._meta.model_name][value]
    if field.is_relation and value is not None:
        if field.related_model is ContentType:
            content_type = ContentType.objects.get_for_id(value)
            return f"{content_type.app_label}.{content_type.model}"
        return ranks[field.related_model._meta.model_name][value]
    if field.name in ("actor_id", "cause_id") and value:
        content_type = ContentType.objects.get_for_id(getattr(row, field.name.replace("_id", "_type_id")))
        return ranks[content_type.model][int(value)]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@pytest.mark.django_db
def test_the_scenario_writes_the_stored_rows_on_this_database():
    run_scenario()

    written = rows()

    if os.environ.get("LEDGER_GOLDEN_WRITE"):
        GOLDEN.write_text(json.dumps(written, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    for table in expected:
        assert written[table] == expected[table], table
    assert set(written) == set(expected)
