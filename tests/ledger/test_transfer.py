"""``ledger.transfer``: a gift or a merge as two entries, the target keeping the source's expiry dates."""

from datetime import UTC, date, datetime

import pytest

from loyalty.exceptions import (
    IdempotencyConflict,
    InsufficientPoints,
    MemberClosed,
    MemberSuspended,
    NotReversible,
    ValidationError,
)
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Allocation, Entry, EntryKind, Lot
from members.models import Member
from tests.factories.members import MemberFactory
from tests.helpers import ledger_state

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)
EARLIER = datetime(2027, 2, 1, 12, tzinfo=UTC)


@pytest.fixture
def two():
    return MemberFactory().account, MemberFactory().account


def cause_of(account):
    """Any row names the transfer's cause here (the gift or merge services pass their own)."""
    return Member.objects.get(pk=account.member_id)


def target_lots(account):
    return list(
        Lot.objects.filter(account=account)
        .order_by("pk")
        .values_list("amount", "remaining", "pending", "available_at", "expires_on")
    )


def set_status(account, status):
    Member.objects.filter(pk=account.member_id).update(status=status)


def test_a_gift_takes_soonest_expiry_first_and_the_target_keeps_the_dates(two):
    source, target = two
    ledger.credit(source, 30, expires_on=date(2027, 6, 30), now=EARLIER)
    ledger.credit(source, 50, expires_on=date(2027, 4, 30), now=EARLIER)
    ledger.credit(source, 20, expires_on=None, now=EARLIER)
    ledger.credit(source, 10, expires_on=date(2027, 4, 30), now=EARLIER)

    moved = ledger.transfer(source, target, 85, EntryKind.GIFT, cause=cause_of(source), now=NOW)

    assert (moved.debit.amount, moved.debit.balance_after) == (-85, 25)
    assert (moved.credit.amount, moved.credit.balance_after) == (85, 85)
    assert list(moved.debit.allocations.order_by("pk").values_list("points", flat=True)) == [-50, -10, -25]
    assert target_lots(target) == [(60, 60, False, NOW, date(2027, 4, 30)), (25, 25, False, NOW, date(2027, 6, 30))]
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.balance, source.lifetime_earned, source.lifetime_spent) == (25, 110, 85)
    assert (target.balance, target.lifetime_earned, target.lifetime_spent) == (85, 85, 0)
    assert audit(now=NOW) == []


def test_a_gift_never_takes_pending_points(two):
    source, target = two
    ledger.credit(source, 40, now=EARLIER)
    ledger.credit(source, 100, available_at=datetime(2027, 4, 1, tzinfo=UTC), now=EARLIER)
    before = ledger_state(source), ledger_state(target)

    with pytest.raises(InsufficientPoints) as refused:
        ledger.transfer(source, target, 41, EntryKind.GIFT, cause=cause_of(source), now=NOW)

    assert refused.value.details == {"available": 40, "requested": 41}
    assert (ledger_state(source), ledger_state(target)) == before


def test_a_gift_settles_first_so_expired_points_do_not_move(two):
    source, target = two
    ledger.credit(source, 30, expires_on=date(2027, 3, 1), now=EARLIER)
    ledger.credit(source, 20, expires_on=date(2027, 12, 31), now=EARLIER)

    with pytest.raises(InsufficientPoints):
        ledger.transfer(source, target, 21, EntryKind.GIFT, cause=cause_of(source), now=NOW)
    moved = ledger.transfer(source, target, 20, EntryKind.GIFT, cause=cause_of(source), now=NOW)

    assert moved.debit.balance_after == 0
    assert target_lots(target) == [(20, 20, False, NOW, date(2027, 12, 31))]
    assert Entry.objects.filter(account=source, kind=EntryKind.EXPIRE).get().amount == -30
    assert audit(now=NOW) == []


@pytest.mark.parametrize("side", ["source", "target"])
@pytest.mark.parametrize(("status", "error"), [("suspended", MemberSuspended), ("closed", MemberClosed)])
def test_a_gift_needs_both_members_active(two, side, status, error):
    source, target = two
    ledger.credit(source, 50, now=EARLIER)
    set_status(source if side == "source" else target, status)
    before = ledger_state(source), ledger_state(target)

    with pytest.raises(error):
        ledger.transfer(source, target, 10, EntryKind.GIFT, cause=cause_of(source), now=NOW)

    assert (ledger_state(source), ledger_state(target)) == before


def test_a_repeat_with_the_same_key_and_actor_returns_the_first_pair(two):
    source, target = two
    ledger.credit(source, 50, now=EARLIER)
    actor = cause_of(source)

    first = ledger.transfer(source, target, 10, EntryKind.GIFT, cause=actor, actor=actor, idempotency_key="k", now=NOW)
    again = ledger.transfer(source, target, 10, EntryKind.GIFT, cause=actor, actor=actor, idempotency_key="k", now=NOW)

    assert (again.debit.pk, again.credit.pk) == (first.debit.pk, first.credit.pk)
    assert (source.balance, target.balance) == (40, 10)
    assert Entry.objects.filter(kind=EntryKind.GIFT).count() == 2
    with pytest.raises(IdempotencyConflict):
        ledger.transfer(source, target, 11, EntryKind.GIFT, cause=actor, actor=actor, idempotency_key="k", now=NOW)


def test_the_same_key_towards_another_target_is_a_conflict(two):
    source, target = two
    third = MemberFactory().account
    ledger.credit(source, 50, now=EARLIER)
    actor = cause_of(source)
    ledger.transfer(source, target, 10, EntryKind.GIFT, cause=actor, actor=actor, idempotency_key="k", now=NOW)

    with pytest.raises(IdempotencyConflict):
        ledger.transfer(source, third, 10, EntryKind.GIFT, cause=actor, actor=actor, idempotency_key="k", now=NOW)
    assert ledger_state(third) == (0, 0, 0, 0, 0, [], [], 0)


@pytest.mark.parametrize(
    ("points", "kind", "field"),
    [
        (0, "gift", "points"),
        (-5, "gift", "points"),
        (None, "gift", "points"),
        (5, "merge", "points"),
        (5, "earn", "kind"),
    ],
)
def test_bad_arguments_are_refused(two, points, kind, field):
    source, target = two
    ledger.credit(source, 50, now=EARLIER)

    with pytest.raises(ValidationError) as refused:
        ledger.transfer(source, target, points, kind, cause=cause_of(source), now=NOW)

    assert refused.value.details == {"field": field}


def test_points_cannot_move_to_their_own_account(two):
    source, _target = two
    with pytest.raises(ValidationError):
        ledger.transfer(source, source, 5, EntryKind.GIFT, cause=cause_of(source), now=NOW)


def test_gift_and_merge_entries_are_not_reversible_one_side_at_a_time(two):
    source, target = two
    ledger.credit(source, 50, now=EARLIER)
    moved = ledger.transfer(source, target, 10, EntryKind.GIFT, cause=cause_of(source), now=NOW)

    for entry in (moved.debit, moved.credit):
        with pytest.raises(NotReversible):
            ledger.reverse(entry, now=NOW)


def test_a_merge_moves_available_and_pending_lots_with_their_dates(two):
    source, target = two
    ledger.credit(source, 30, expires_on=date(2027, 6, 30), now=EARLIER)
    ledger.credit(source, 20, expires_on=None, now=EARLIER)
    later = datetime(2027, 4, 1, 9, tzinfo=UTC)
    ledger.credit(source, 70, available_at=later, expires_on=date(2028, 4, 30), now=EARLIER)
    ledger.debit(source, 5, now=EARLIER)
    ledger.credit(target, 10, expires_on=None, now=EARLIER)

    moved = ledger.transfer(source, target, None, EntryKind.MERGE, cause=cause_of(source), now=NOW)

    assert (moved.debit.amount, moved.credit.amount) == (-115, 115)
    assert target_lots(target) == [
        (10, 10, False, EARLIER, None),
        (25, 25, False, NOW, date(2027, 6, 30)),
        (70, 70, True, later, date(2028, 4, 30)),
        (20, 20, False, NOW, None),
    ]
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.balance, source.pending, target.balance, target.pending) == (0, 0, 55, 70)
    assert Lot.objects.filter(account=source, remaining__gt=0).count() == 0
    assert Allocation.objects.filter(entry=moved.debit).count() == 3
    assert audit(now=NOW) == []
    ledger.release_pending(now=later)
    target.refresh_from_db()
    assert (target.balance, target.pending) == (125, 0)
    assert audit(now=later) == []


def test_a_merge_of_an_empty_account_writes_nothing(two):
    source, target = two
    assert ledger.transfer(source, target, None, EntryKind.MERGE, cause=cause_of(source), now=NOW) is None
    assert Entry.objects.count() == 0


@pytest.mark.parametrize(
    ("source_status", "target_status", "error"),
    [
        ("suspended", "active", None),
        ("active", "suspended", None),
        ("suspended", "suspended", None),
        ("active", "closed", MemberClosed),
        ("closed", "active", MemberClosed),
    ],
)
def test_merge_statuses(two, source_status, target_status, error):
    source, target = two
    ledger.credit(source, 50, now=EARLIER)
    set_status(source, source_status)
    set_status(target, target_status)

    if error:
        with pytest.raises(error):
            ledger.transfer(source, target, None, EntryKind.MERGE, cause=cause_of(source), now=NOW)
        assert Entry.objects.exclude(kind=EntryKind.EARN).count() == 0
    else:
        ledger.transfer(source, target, None, EntryKind.MERGE, cause=cause_of(source), now=NOW)
        target.refresh_from_db()
        assert target.balance == 50
    assert audit(now=NOW) == []
