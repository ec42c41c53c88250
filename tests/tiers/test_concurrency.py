"""A credit racing the recalculation on PostgreSQL: the batch's account locks keep them apart."""

import threading
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from loyalty.ledger import services as ledger
from members.tiers.models import MemberTier, TierChange, TierChangeReason
from members.tiers.services import tier_recalculate_all
from tests.factories.members import MemberFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JAN_10 = datetime(2026, 1, 10, 12, tzinfo=UTC)
MAR_1 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_credit_during_a_recalculation_batch_waits_for_it_then_upgrades(tiers):
    # given a Silver member, and a recalculation whose batch has planned to keep it Silver
    member = MemberFactory()
    ledger.credit(member.account, 150, now=JAN_10)
    seen = {}

    def credit():
        try:
            seen["entry"] = ledger.credit(member.account, 400, now=MAR_1)
        finally:
            connection.close()

    def during_the_batch(first_id, last_id):
        # when a credit that reaches Gold arrives while the batch holds its accounts
        thread = threading.Thread(target=credit, daemon=True)
        thread.start()
        thread.join(timeout=1)
        seen["waited"] = thread.is_alive()
        seen["thread"] = thread

    tier_recalculate_all(now=MAR_1, after_batch=during_the_batch)
    seen["thread"].join(timeout=30)

    # then the credit waited for the batch to commit, and its upgrade was not overwritten
    assert seen["waited"] is True
    assert "entry" in seen
    state = MemberTier.objects.get(member=member)
    assert (state.tier.name, state.qualified_on) == ("Gold", date(2026, 3, 1))
    assert list(TierChange.objects.order_by("pk").values_list("to_tier__name", "reason")) == [
        ("Silver", TierChangeReason.QUALIFIED),
        ("Gold", TierChangeReason.QUALIFIED),
    ]


def test_credits_racing_a_recalculation_upgrade_once_and_leave_a_consistent_tier(tiers):
    members = [MemberFactory() for _ in range(6)]
    for member in members:
        ledger.credit(member.account, 90, now=JAN_10)

    jobs = [lambda m=m: ledger.credit(m.account, 20, now=MAR_1) for m in members]
    jobs += [lambda: tier_recalculate_all(now=MAR_1, batch_size=2)]
    outcomes = run_together(*jobs)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert list(MemberTier.objects.values_list("tier__name", "qualified_on").distinct()) == [
        ("Silver", date(2026, 3, 1))
    ]
    assert TierChange.objects.count() == 6
    assert tier_recalculate_all(now=MAR_1).changes == 0
