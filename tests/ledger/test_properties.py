"""Random sequences of ledger operations, checked step by step against the reference model.

A failure prints the shortest sequence hypothesis found and a blob to replay it
(``@reproduce_failure``); the same seed reproduces it.
"""

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from loyalty.exceptions import InsufficientPoints, NotReversible
from loyalty.ledger import policy
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Account, Allocation, Entry, EntryKind, Lot
from tests.factories.members import MemberFactory

from .reference import RefAccount, ReferenceLedger

START = datetime(2027, 1, 1, 9, tzinfo=UTC)
EXPIRY = st.one_of(st.none(), st.just("policy"), st.integers(min_value=0, max_value=60))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()  # rolled back in teardown: every example starts clean
        self.atomic.__enter__()
        self.accounts = [MemberFactory().account for _ in range(3)]
        self.model = ReferenceLedger()
        for account in self.accounts:
            self.model.accounts[account.pk] = RefAccount()
        self.now = START

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def expect(self, real, predicted):
        """Run the real call and the model's prediction; both must fail alike or both succeed."""
        try:
            expected = predicted()
        except (InsufficientPoints, NotReversible) as error:
            before = self.snapshot()
            with pytest.raises(type(error)):
                real()
            assert self.snapshot() == before, "a refused call changed the ledger"
            return None, None
        return real(), expected

    def snapshot(self):
        """Every row a refused call must leave as it was."""
        return (
            list(Account.objects.order_by("pk").values_list()),
            list(Entry.objects.order_by("pk").values_list("pk", "account_id", "kind", "amount", "balance_after")),
            list(Lot.objects.order_by("pk").values_list()),
            list(Allocation.objects.order_by("pk").values_list()),
        )

    @rule(
        which=st.integers(0, 2),
        points=st.integers(1, 200),
        kind=st.sampled_from([EntryKind.EARN, EntryKind.BONUS]),
        available_in_days=st.one_of(st.just(0), st.integers(1, 10)),
        expiry=EXPIRY,
    )
    def credit(self, which, points, kind, available_in_days, expiry):
        account = self.accounts[which]
        available_at = self.now + timedelta(days=available_in_days)
        if expiry == "policy":
            expires_on = policy.expiry_date(available_at)
        elif expiry is None:
            expires_on = None
        else:
            expires_on = timezone.localdate(available_at) + timedelta(days=expiry)
        entry = ledger.credit(account, points, kind, expires_on=expires_on, available_at=available_at, now=self.now)
        self.model.credit(entry.pk, account.pk, points, kind, available_at, expires_on, self.now)

    @rule(which=st.integers(0, 2), points=st.integers(1, 200))
    def adjust_up(self, which, points):
        account = self.accounts[which]
        entry = ledger.adjust(account, points, reason="goodwill", now=self.now)
        expires_on = policy.expiry_date(self.now)
        self.model.credit(entry.pk, account.pk, points, EntryKind.ADJUST, self.now, expires_on, self.now)

    @rule(which=st.integers(0, 2), points=st.integers(1, 250), as_adjustment=st.booleans())
    def debit(self, which, points, as_adjustment):
        account = self.accounts[which]
        if as_adjustment:
            real = lambda: ledger.adjust(account, -points, reason="correction", now=self.now)  # noqa: E731
        else:
            real = lambda: ledger.debit(account, points, now=self.now)  # noqa: E731
        entry, taken = self.expect(real, lambda: self.model.debit(account.pk, points, self.now))
        if entry is not None:
            self.model.record_debit(entry.pk, account.pk, entry.kind, points, taken)

    @precondition(lambda self: self.model.entries)
    @rule(pick=st.integers(0, 10**6), partial=st.one_of(st.none(), st.integers(1, 120)))
    def reverse(self, pick, partial):
        entry_ids = sorted(self.model.entries)
        entry_id = entry_ids[pick % len(entry_ids)]
        real = lambda: ledger.reverse(Entry.objects.get(pk=entry_id), points=partial, now=self.now)  # noqa: E731
        reversal, expected = self.expect(real, lambda: self.model.reverse(entry_id, partial, self.now))
        if reversal is not None:
            assert reversal.amount == expected.amount
            self.model.record_reversal(reversal.pk, expected)

    @rule()
    def expire_due(self):
        ledger.expire_due(now=self.now, batch_size=1)
        today = timezone.localdate(self.now)
        self.model.settle_where(lambda lot: lot.remaining and lot.expires_on and lot.expires_on < today, self.now)
        assert audit(now=self.now, expiry_grace_days=0) == []

    @rule()
    def release_pending(self):
        ledger.release_pending(now=self.now)
        self.model.settle_where(lambda lot: lot.pending and lot.available_at <= self.now, self.now)

    @rule(days=st.integers(1, 45))
    def advance_the_clock(self, days):
        self.now += timedelta(days=days)

    @invariant()
    def the_database_matches_the_model(self):
        for account in Account.objects.filter(pk__in=[a.pk for a in self.accounts]):
            expected = self.model.accounts[account.pk]
            assert (account.balance, account.pending) == (expected.balance, expected.pending), account.pk
        for lot in Lot.objects.filter(account__in=self.accounts):
            expected = self.model.lots[lot.entry_id]
            assert (lot.remaining, lot.expired, lot.pending) == (
                expected.remaining,
                expected.expired,
                expected.pending,
            )
        assert audit(now=self.now, expiry_grace_days=10**5) == []


@pytest.mark.django_db
def test_random_operations_keep_the_ledger_equal_to_the_reference_model():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=int(os.environ.get("LEDGER_PROPERTY_EXAMPLES", 25)),
            stateful_step_count=25,
            deadline=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
