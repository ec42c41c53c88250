"""Random sequences of ledger operations, checked step by step against the README's rules (``reference.py``).

The program runs in Paris and the clock moves by hours from just before a change of
summer time, so days, expiry and release are counted across DST. Sequences mix credits
(pending or not, with idempotency keys from the system or a partner), bursts of 70+ small
lots (a debit then reads more than one page of lots), debits, adjustments, reversals (of
reversals and expiries too, which are refused), replays and reused keys, forfeits,
suspensions, gifts and merges between the members, holds (captured in full or in part, voided,
released by the scheduled run once past their time, refunded), and the daily and hourly runs. A
reversal of a credit refuses a shortfall, owes it or writes it off; the repayments that
follow whatever brings points to an account that owes are checked entry by entry.

A failure prints the shortest sequence hypothesis found and a blob to replay it
(``@reproduce_failure``). The default run is 25 sequences; after changing the ledger run
many more: ``LEDGER_PROPERTY_EXAMPLES=400`` (on both databases).
"""

import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty.exceptions import (
    HoldNotOpen,
    HoldOutOfRange,
    IdempotencyConflict,
    InsufficientPoints,
    MemberSuspended,
    MergeRefused,
    NotReversible,
)
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit, audit_qualifying
from loyalty.ledger.models import Account, Allocation, Entry, EntryKind, Hold, Lot
from members.models import MemberStatus
from members.services import member_status_change
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

from . import reference

PROGRAM_ZONE = "Europe/Paris"
POLICY_DAYS = 30
# Summer time starts on 28 March 2027 at 01:00 UTC and ends on 31 October 2027 at 01:00 UTC.
STARTS = [datetime(2027, 3, 27, 18, 17, tzinfo=UTC), datetime(2027, 10, 30, 21, 43, tzinfo=UTC)]
REFUSALS = (
    InsufficientPoints,
    NotReversible,
    MemberSuspended,
    IdempotencyConflict,
    HoldNotOpen,
    HoldOutOfRange,
    MergeRefused,
)
KEYS = st.one_of(st.none(), st.sampled_from(["k1", "k2", "k3"]))
SHORTFALLS = st.sampled_from(["refuse", "debt", "write_off"])
CREDITS = (EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST)  # adjustments down are debits: refused alike
ACTORS = st.sampled_from([None, "partner"])


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()  # rolled back in teardown: every example starts clean
        self.atomic.__enter__()
        self.accounts = [MemberFactory().account for _ in range(3)]
        self.partner = PartnerFactory()
        self.model = reference.Reference(PROGRAM_ZONE)
        for account in self.accounts:
            self.model.accounts[account.pk] = reference.Account()
        self.calls = []  # keyed calls made, to replay: (real call, expected entry id)

    @initialize(start=st.sampled_from(STARTS))
    def start_the_clock(self, start):
        self.now = start

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # Helpers.

    def actor(self, name):
        return self.partner if name == "partner" else None

    def check_follow_ups(self, incoming, expected: list) -> None:
        """The entries caused by ``incoming`` (a repayment, a write-off) are the model's, move for move."""
        real = list(
            Entry.objects.filter(
                cause_type=ContentType.objects.get_for_model(Entry), cause_id=str(incoming.pk)
            ).order_by("pk")
        )
        assert [(e.kind, e.amount, e.debt) for e in real] == [(e.kind, e.amount, e.debt) for e in expected]
        for entry, model_entry in zip(real, expected, strict=True):
            event(f"follow-up: {entry.kind}")  # --hypothesis-show-statistics: how often debt is exercised
            self.check_moves(entry, model_entry.moves)
            self.model.record(entry.pk, model_entry)

    def snapshot(self):
        """Every row a refused or repeated call must leave as it was."""
        return (
            list(Account.objects.order_by("pk").values_list()),
            list(Entry.objects.order_by("pk").values_list("pk", "account_id", "kind", "amount", "balance_after")),
            list(Lot.objects.order_by("pk").values_list()),
            list(Allocation.objects.order_by("pk").values_list()),
            list(Hold.objects.order_by("pk").values_list()),
        )

    def run(self, real, predicted, *, account, actor=None, key=None, request=None):
        """Run the real call and the model's prediction: both refuse alike, repeat alike, or both succeed.

        Returns ``(entry, prediction)`` for a new effect, ``(None, None)`` otherwise.
        """
        try:
            first = self.model.replayed(account, actor, key, request)
        except IdempotencyConflict:
            first = IdempotencyConflict
        if first is not None:
            before = self.snapshot()
            if first is IdempotencyConflict:
                with pytest.raises(IdempotencyConflict):
                    real()
            else:
                assert real().pk == first, "a repeat did not return the first entry"
            assert self.snapshot() == before, "a repeat changed the ledger"
            return None, None
        try:
            expected = self.model.attempt(predicted)
        except REFUSALS as error:
            before = self.snapshot()
            with pytest.raises(type(error)):
                real()
            assert self.snapshot() == before, "a refused call changed the ledger"
            return None, None
        entry = real()
        self.model.remember(account, actor, key, request, entry.pk)
        if key is not None:
            self.calls.append((real, entry.pk))
        return entry, expected

    # Rules.

    @rule(
        which=st.integers(0, 2),
        points=st.integers(1, 200),
        kind=st.sampled_from([EntryKind.EARN, EntryKind.BONUS]),
        available_in_hours=st.one_of(st.just(0), st.integers(1, 240)),
        days_to_expiry=st.one_of(st.none(), st.just("policy"), st.integers(0, 40)),
        key=KEYS,
        actor=ACTORS,
    )
    def credit(self, which, points, kind, available_in_hours, days_to_expiry, key, actor):
        account = self.accounts[which]
        available_at = self.now + timedelta(hours=available_in_hours)
        first_day = self.model.today(max(available_at, self.now))
        if days_to_expiry == "policy":
            last_day, expires_on = first_day + timedelta(days=POLICY_DAYS), ledger.FROM_POLICY
        else:
            last_day = expires_on = None if days_to_expiry is None else first_day + timedelta(days=days_to_expiry)

        def real():
            return ledger.credit(
                account,
                points,
                kind,
                expires_on=expires_on,
                available_at=available_at,
                cause=account.member,
                actor=self.actor(actor),
                idempotency_key=key,
                now=self.now,
            )

        entry, record = self.run(
            real,
            lambda: self.model.credit(account.pk, points, available_at, last_day, self.now),
            account=account.pk,
            actor=actor,
            key=key,
            request=(kind, points, None),
        )
        if entry is not None:
            self.check_follow_ups(entry, record(entry.pk, kind))
            assert entry.lots.get().expires_on == last_day

    @rule(which=st.integers(0, 2), lots=st.integers(66, 72), days=st.integers(0, 20))
    def burst_of_small_lots(self, which, lots, days):
        """Over a page (64) of small lots, so a debit or a reversal reads more than one page of them."""
        account = self.accounts[which]
        if self.model.accounts[account.pk].suspended:
            with pytest.raises(MemberSuspended):
                ledger.credit(account, 1, cause=account.member, now=self.now)
            return
        for index in range(lots):
            last_day = None if index % 7 == 0 else self.model.today(self.now) + timedelta(days=days + index % 5)
            points = 1 + index % 3
            entry = ledger.credit(account, points, expires_on=last_day, cause=account.member, now=self.now)
            repaid = self.model.credit(account.pk, points, self.now, last_day, self.now)(entry.pk, EntryKind.EARN)
            if repaid:
                self.check_follow_ups(entry, repaid)

    @rule(which=st.integers(0, 2), points=st.integers(1, 200), key=KEYS, qualifying=st.booleans())
    def adjust_up(self, which, points, key, qualifying):
        account = self.accounts[which]
        last_day = self.model.today(self.now) + timedelta(days=POLICY_DAYS)
        entry, record = self.run(
            lambda: ledger.adjust(
                account, points, reason="goodwill", idempotency_key=key, qualifying=qualifying, now=self.now
            ),
            lambda: self.model.credit(account.pk, points, self.now, last_day, self.now),
            account=account.pk,
            key=key,
            request=(EntryKind.ADJUST, points, None),
        )
        if entry is not None:
            self.check_follow_ups(entry, record(entry.pk, EntryKind.ADJUST))

    @rule(which=st.integers(0, 2), points=st.integers(1, 250), as_adjustment=st.booleans(), key=KEYS, actor=ACTORS)
    def debit(self, which, points, as_adjustment, key, actor):
        account = self.accounts[which]
        kind = EntryKind.ADJUST if as_adjustment else EntryKind.REDEEM

        def real():
            if as_adjustment:
                return ledger.adjust(
                    account, -points, reason="correction", actor=self.actor(actor), idempotency_key=key, now=self.now
                )
            return ledger.debit(
                account, points, cause=account.member, actor=self.actor(actor), idempotency_key=key, now=self.now
            )

        entry, moves = self.run(
            real,
            lambda: self.model.debit(account.pk, points, self.now),
            account=account.pk,
            actor=actor,
            key=key,
            request=(kind, -points, None),
        )
        if entry is not None:
            self.model.record_debit(entry.pk, account.pk, kind, points, moves)
            self.check_moves(entry, moves)

    @rule(which=st.integers(0, 2), short_by=st.integers(0, 5))
    def spend_nearly_everything(self, which, short_by):
        """A debit of (almost) the whole balance: it crosses every page of lots."""
        account = self.accounts[which]
        points = self.model.balance(account.pk) - short_by
        if points < 1:
            return
        entry, moves = self.run(
            lambda: ledger.debit(account, points, cause=account.member, now=self.now),
            lambda: self.model.debit(account.pk, points, self.now),
            account=account.pk,
        )
        if entry is not None:
            self.model.record_debit(entry.pk, account.pk, EntryKind.REDEEM, points, moves)
            self.check_moves(entry, moves)

    @precondition(lambda self: self.model.entries)
    @rule(
        pick=st.integers(0, 10**6), partial=st.one_of(st.none(), st.integers(1, 120)), key=KEYS, shortfall=SHORTFALLS
    )
    def reverse(self, pick, partial, key, shortfall):
        entry_ids = sorted(self.model.entries)
        entry_id = entry_ids[pick % len(entry_ids)]  # any entry: expiries, reversals, repayments... are refused
        self.reverse_entry(entry_id, partial, key, shortfall)

    @precondition(lambda self: any(e.kind in CREDITS for e in self.model.entries.values()))
    @rule(
        pick=st.integers(0, 10**6),
        shortfall=st.sampled_from(["debt", "write_off"]),
        left=st.one_of(st.none(), st.integers(0, 30)),
    )
    def return_after_spending(self, pick, shortfall, left):
        """A credit returned after the member spent all but ``left`` points (None: spent nothing more):
        a shortfall is owed or written off."""
        credit_ids = sorted(pk for pk, e in self.model.entries.items() if e.kind in CREDITS)
        entry_id = credit_ids[pick % len(credit_ids)]
        if left is not None:
            which = [a.pk for a in self.accounts].index(self.model.entries[entry_id].account)
            self.spend_nearly_everything(which, left)
        self.reverse_entry(entry_id, None, None, shortfall)

    def reverse_entry(self, entry_id, partial, key, shortfall):
        account = self.model.entries[entry_id].account
        real = lambda: ledger.reverse(  # noqa: E731
            Entry.objects.get(pk=entry_id), points=partial, shortfall=shortfall, idempotency_key=key, now=self.now
        )
        reversal, expected = self.run(
            real,
            lambda: self.model.reverse(entry_id, partial, self.now, shortfall),
            account=account,
            key=key,
            request=("reverse", partial, entry_id, shortfall),
        )
        if reversal is not None:
            expected_reversal, follow_ups = expected
            assert (reversal.amount, reversal.debt) == (expected_reversal.amount, expected_reversal.debt)
            self.model.record(reversal.pk, expected_reversal)
            self.check_moves(reversal, expected_reversal.moves)
            self.check_follow_ups(reversal, follow_ups)

    @precondition(lambda self: self.calls)
    @rule(pick=st.integers(0, 10**6))
    def replay(self, pick):
        """A client repeats a keyed request: the first entry comes back, nothing changes."""
        real, first = self.calls[pick % len(self.calls)]
        before = self.snapshot()

        assert real().pk == first

        assert self.snapshot() == before

    @rule(
        source=st.integers(0, 2),
        offset=st.integers(1, 2),
        points=st.one_of(st.none(), st.integers(1, 250)),
    )
    def transfer(self, source, offset, points):
        """A gift of ``points`` or (None) a merge of the whole account to another member."""
        giver, receiver = self.accounts[source], self.accounts[(source + offset) % 3]
        kind = EntryKind.MERGE if points is None else EntryKind.GIFT

        def real():
            return ledger.transfer(giver, receiver, points, kind, cause=giver.member, now=self.now)

        try:
            expected = self.model.attempt(lambda: self.model.transfer(giver.pk, receiver.pk, points, self.now))
        except REFUSALS as error:
            before = self.snapshot()
            with pytest.raises(type(error)):
                real()
            assert self.snapshot() == before, "a refused transfer changed the ledger"
            return
        moved = real()
        if expected is None:
            assert moved is None
            return
        lot_ids = list(moved.credit.lots.order_by("pk").values_list("pk", flat=True))
        repaid = self.model.record_transfer(
            kind, giver.pk, receiver.pk, moved.debit.pk, moved.credit.pk, expected, lot_ids
        )
        self.check_moves(moved.debit, expected[0])
        self.check_follow_ups(moved.credit, repaid)

    # Holds.

    def refused_alike(self, real, predicted):
        """Run the model's prediction; if it refuses, the real call must refuse alike and change nothing."""
        try:
            return True, self.model.attempt(predicted)
        except REFUSALS as error:
            before = self.snapshot()
            with pytest.raises(type(error)):
                real()
            assert self.snapshot() == before, "a refused call changed the ledger"
            return False, None

    def check_releases(self, releases) -> None:
        """The releases the model predicts (``(hold id, (entry, follow-ups))``) are the ledger's, move for move."""
        for hold_id, (expected, follow_ups) in releases:
            release = Entry.objects.get(kind=EntryKind.RELEASE, reverses_id=self.model.holds[hold_id].entry)
            assert (release.amount, release.held) == (expected.amount, expected.held)
            self.check_moves(release, expected.moves)
            self.model.record(release.pk, expected)
            self.check_follow_ups(release, follow_ups)

    def pick_hold(self, pick) -> int:
        holds = sorted(self.model.holds)
        return holds[pick % len(holds)]

    @rule(which=st.integers(0, 2), points=st.integers(1, 150), minutes=st.integers(1, 600))
    def hold(self, which, points, minutes):
        account = self.accounts[which]
        expires_at = self.now + timedelta(minutes=minutes)
        real = lambda: ledger.hold(account, points, expires_at=expires_at, cause=account.member, now=self.now)  # noqa: E731
        ok, moves = self.refused_alike(real, lambda: self.model.hold(account.pk, points, self.now))
        if ok:
            placed = real()
            self.model.record_hold(placed.pk, placed.entry_id, account.pk, points, moves, expires_at)
            self.check_moves(placed.entry, moves)

    @precondition(lambda self: self.model.holds)
    @rule(pick=st.integers(0, 10**6), partial=st.one_of(st.none(), st.integers(1, 160)))
    def capture(self, pick, partial):
        hold_id = self.pick_hold(pick)
        real = lambda: ledger.hold_capture(Hold.objects.get(pk=hold_id), points=partial, now=self.now)  # noqa: E731
        ok, expected = self.refused_alike(real, lambda: self.model.capture(hold_id, partial, self.now))
        if ok:
            capture = real()
            expected_capture, release = expected
            assert (capture.kind, capture.amount, capture.held) == (EntryKind.CAPTURE, 0, expected_capture.held)
            self.model.record(capture.pk, expected_capture)
            self.model.holds[hold_id].capture = capture.pk
            if release is not None:
                self.check_releases([(hold_id, release)])

    @precondition(lambda self: self.model.holds)
    @rule(pick=st.integers(0, 10**6))
    def void(self, pick):
        hold_id = self.pick_hold(pick)
        real = lambda: ledger.hold_void(Hold.objects.get(pk=hold_id), now=self.now)  # noqa: E731
        ok, release = self.refused_alike(real, lambda: self.model.void(hold_id, self.now))
        if ok:
            real()
            self.check_releases([(hold_id, release)])

    @rule()
    def release_expired_holds(self):
        releases = self.model.attempt(lambda: self.model.release_expired(self.now))
        assert ledger.holds_release_expired(now=self.now, batch_size=2) == len(releases)
        self.check_releases(releases)

    @precondition(lambda self: any(e.kind == EntryKind.CAPTURE for e in self.model.entries.values()))
    @rule(pick=st.integers(0, 10**6), partial=st.one_of(st.none(), st.integers(1, 120)))
    def refund(self, pick, partial):
        """A till refunds a basket paid with points: the capture is reversed, in full or in part."""
        captures = sorted(pk for pk, e in self.model.entries.items() if e.kind == EntryKind.CAPTURE)
        self.reverse_entry(captures[pick % len(captures)], partial, None, "refuse")

    @rule(which=st.integers(0, 2))
    def forfeit(self, which):
        account = self.accounts[which]
        total, releases = self.model.attempt(lambda: self.model.forfeit(account.pk, self.now))
        entry = ledger.forfeit(account, reason="closing", cause=account.member, now=self.now)
        self.check_releases(releases)
        if total == 0:
            assert entry is None
            return
        assert (entry.kind, entry.amount) == (EntryKind.FORFEIT, -total)
        self.model.record(entry.pk, reference.Entry(account.pk, EntryKind.FORFEIT, -total))

    @rule(which=st.integers(0, 2))
    def suspend_or_reactivate(self, which):
        member = self.accounts[which].member
        state = self.model.accounts[self.accounts[which].pk]
        status = MemberStatus.ACTIVE if state.suspended else MemberStatus.SUSPENDED
        member_status_change(member=member, status=status, reason="phone call")
        state.suspended = not state.suspended

    @rule()
    def expire_due(self):
        ledger.expire_due(now=self.now, batch_size=1)
        today = self.model.today(self.now)
        self.model.settle_all(lambda lot: lot.remaining and lot.last_day and lot.last_day < today, self.now)
        assert audit(now=self.now, expiry_grace_days=0) == []

    @rule()
    def release_pending(self):
        ledger.release_pending(now=self.now)
        self.model.settle_all(lambda lot: lot.pending and lot.available_at <= self.now, self.now)

    @rule(hours=st.integers(1, 60))
    def advance_the_clock(self, hours):
        self.now += timedelta(hours=hours)

    # Checks.

    def check_moves(self, entry, expected_moves):
        real = [(lot_key(a.lot), a.points) for a in entry.allocations.select_related("lot__entry").order_by("pk")]
        assert Counter(real) == Counter(expected_moves)  # lot keys are ids and tuples: not sortable together

    @invariant()
    def the_database_matches_the_model(self):
        if not hasattr(self, "now"):
            return
        for account in Account.objects.filter(pk__in=[a.pk for a in self.accounts]):
            expected = (
                self.model.balance(account.pk),
                self.model.pending(account.pk),
                self.model.accounts[account.pk].debt,
                self.model.held(account.pk),
            )
            assert (account.balance, account.pending, account.debt, account.held) == expected, account.pk
        statuses = dict(Hold.objects.filter(account__in=self.accounts).values_list("pk", "status"))
        assert statuses == {pk: hold.status for pk, hold in self.model.holds.items()}
        for lot in Lot.objects.filter(account__in=self.accounts).select_related("entry"):
            expected = self.model.lots[lot_key(lot)]
            assert (lot.remaining, lot.expired, lot.pending) == (
                expected.remaining,
                expected.expired,
                expected.pending,
            )
        assert audit(now=self.now, expiry_grace_days=10**5) == []
        assert audit_qualifying() == []  # what counts towards tiers (members/tiers) follows the entries


def lot_key(lot: Lot):
    """How the model names a lot: its credit's entry id, or ``("lot", id)`` for one of a transfer's lots."""
    return ("lot", lot.pk) if lot.entry.kind in (EntryKind.GIFT, EntryKind.MERGE) else lot.entry_id


@pytest.mark.django_db
def test_random_operations_keep_the_ledger_equal_to_the_readmes_rules(settings_override):
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


@pytest.fixture
def settings_override(settings):
    settings.TIME_ZONE = PROGRAM_ZONE
    settings.LOYALTY_POINTS_EXPIRY_POLICY = "days"
    settings.LOYALTY_POINTS_EXPIRY_PERIOD = POLICY_DAYS
