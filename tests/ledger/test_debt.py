"""Debt: a return of points the member already spent takes what is left and owes or writes off the rest;
the next points that arrive pay the debt first."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from loyalty.exceptions import IdempotencyConflict, InsufficientPoints, NotReversible, ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit, audit_causes, audit_qualifying
from loyalty.ledger.models import Allocation, Entry, EntryKind, Lot, Shortfall
from members.models import Member
from members.tiers.models import QualifyingDay
from tests.factories.members import MemberFactory
from tests.helpers import ledger_state as state

JAN_10 = datetime(2027, 1, 10, 12, tzinfo=UTC)
JAN_20 = datetime(2027, 1, 20, 12, tzinfo=UTC)
FEB_5 = datetime(2027, 2, 5, 12, tzinfo=UTC)
MAR_1 = datetime(2027, 3, 1, 12, tzinfo=UTC)


def entries(account) -> list[tuple]:
    return list(account.entries.order_by("pk").values_list("kind", "amount", "debt", "balance_after"))


def lots(account) -> list[tuple]:
    return list(Lot.objects.filter(account=account).order_by("pk").values_list("remaining", "pending"))


def figures(account) -> tuple:
    """balance, pending, debt, earned, spent, expired."""
    account.refresh_from_db()
    return (
        account.balance,
        account.pending,
        account.debt,
        account.lifetime_earned,
        account.lifetime_spent,
        account.lifetime_expired,
    )


def qualifying_points(account) -> int:
    return sum(QualifyingDay.objects.filter(member_id=account.member_id).values_list("points", flat=True))


def assert_sound(now=JAN_20):
    assert audit(now=now) == []
    # these tests give their credits no cause; a repayment and a write-off always name one
    assert [line for line in audit_causes() if " a repay " in line or " a write_off " in line] == []
    assert Entry.objects.filter(kind__in=[EntryKind.REPAY, EntryKind.WRITE_OFF], cause_id="").count() == 0
    assert audit_qualifying() == []


@pytest.fixture
def spent(account):
    """100 points earned on 10 January, 70 of them spent: a return of the 100 finds 30."""
    earned = ledger.credit(account, 100, expires_on=None, spend_amount=Decimal("50.00"), now=JAN_10)
    ledger.debit(account, 70, now=JAN_10)
    return earned


@pytest.fixture
def owing(account, spent):
    """The account owes 70 points: the return of the 100 took the 30 left."""
    ledger.reverse(spent, shortfall=Shortfall.DEBT, now=JAN_20)
    return account


# A return after the points were spent, under each policy.


def test_refused_by_default_the_return_changes_nothing(account, spent):
    before = state(account)

    with pytest.raises(InsufficientPoints):
        ledger.reverse(spent, now=JAN_20)
    with pytest.raises(InsufficientPoints):
        ledger.reverse(spent, shortfall=Shortfall.REFUSE, now=JAN_20)

    assert state(account) == before
    assert figures(account)[2] == 0
    assert qualifying_points(account) == 100


def test_with_debt_the_return_takes_what_is_left_and_owes_the_rest(account, spent):
    # when the 100 points are returned, 70 of them spent
    reversal = ledger.reverse(spent, shortfall=Shortfall.DEBT, spend_amount=Decimal("50.00"), now=JAN_20)

    # then the 30 left are taken and 70 are owed; earned goes down by what was taken only
    assert (reversal.kind, reversal.amount, reversal.debt, reversal.balance_after) == (EntryKind.REVERSE, -30, 70, 0)
    assert reversal.reverses == spent
    assert entries(account) == [
        (EntryKind.EARN, 100, 0, 100),
        (EntryKind.REDEEM, -70, 0, 30),
        (EntryKind.REVERSE, -30, 70, 0),
    ]
    assert figures(account) == (0, 0, 70, 70, 70, 0)
    assert lots(account) == [(0, False)]
    assert list(reversal.allocations.values_list("lot__entry", "points")) == [(spent.pk, -30)]
    # the whole 100 and the spend leave the day they were earned
    day = QualifyingDay.objects.get(member_id=account.member_id)
    assert (day.day, day.points, day.spend_amount) == (date(2027, 1, 10), 0, Decimal("0.00"))
    assert_sound()


def test_with_write_off_the_shortfall_is_written_off_in_an_entry_of_its_own(account, spent):
    partner = MemberFactory()  # any actor: who decided the write-off is on record

    reversal = ledger.reverse(spent, shortfall=Shortfall.WRITE_OFF, actor=partner, now=JAN_20)

    assert (reversal.amount, reversal.debt) == (-30, 70)
    assert entries(account) == [
        (EntryKind.EARN, 100, 0, 100),
        (EntryKind.REDEEM, -70, 0, 30),
        (EntryKind.REVERSE, -30, 70, 0),
        (EntryKind.WRITE_OFF, 0, -70, 0),
    ]
    write_off = account.entries.get(kind=EntryKind.WRITE_OFF)
    assert (write_off.cause, write_off.actor, write_off.reverses) == (reversal, partner, None)
    assert (write_off.memo_code, write_off.memo_params) == ("debt_written_off", {"points": 70})
    assert write_off.memo_display == "70 points you owed after a return were written off"
    assert figures(account) == (0, 0, 0, 70, 70, 0)
    assert lots(account) == [(0, False)]
    assert_sound()


def test_a_write_off_never_leaves_a_debt_but_keeps_the_one_owed_before(account, owing):
    # given an account owing 70 and another credit of 40, spent
    bonus = ledger.credit(account, 40, "bonus", expires_on=None, now=JAN_20)  # repays 40: owes 30
    assert figures(account)[:3] == (0, 0, 30)

    # when that credit is returned with its shortfall written off
    reversal = ledger.reverse(bonus, shortfall=Shortfall.WRITE_OFF, now=JAN_20)

    # then nothing is taken (nothing is held), 40 are written off, and the 30 owed before stay owed
    assert (reversal.amount, reversal.debt) == (0, 40)
    assert entries(account)[-2:] == [(EntryKind.REVERSE, 0, 40, 0), (EntryKind.WRITE_OFF, 0, -40, 0)]
    assert figures(account)[:3] == (0, 0, 30)
    assert_sound()


def test_with_debt_the_points_are_taken_from_own_lot_then_available_then_pending_lots(account):
    # given an earn of 100 expiring first, two other lots, a pending lot, and 90 points spent
    earned = ledger.credit(account, 100, expires_on=date(2027, 2, 10), now=JAN_10)
    march = ledger.credit(account, 20, expires_on=date(2027, 3, 31), now=JAN_10)
    february = ledger.credit(account, 30, expires_on=date(2027, 2, 28), now=JAN_10)
    pending = ledger.credit(account, 25, available_at=MAR_1, expires_on=date(2027, 12, 31), now=JAN_10)
    ledger.debit(account, 90, now=JAN_10)  # from the earn's lot, which expires soonest
    assert lots(account) == [(10, False), (20, False), (30, False), (25, True)]

    # when the earn is returned
    with pytest.raises(InsufficientPoints):  # refused: only 10 + 50 are available
        ledger.reverse(earned, now=JAN_20)
    reversal = ledger.reverse(earned, shortfall=Shortfall.DEBT, now=JAN_20)

    # then its own lot, February, March, and the pending lot are emptied, and 15 are owed
    assert (reversal.amount, reversal.debt) == (-85, 15)
    assert list(reversal.allocations.order_by("pk").values_list("lot__entry", "points")) == [
        (earned.pk, -10),
        (february.pk, -30),
        (march.pk, -20),
        (pending.pk, -25),
    ]
    assert lots(account) == [(0, False), (0, False), (0, False), (0, True)]
    assert figures(account) == (0, 0, 15, 90, 90, 0)
    assert_sound()


def test_a_return_of_a_credit_still_held_owes_nothing_under_any_policy(account):
    earned = ledger.credit(account, 100, now=JAN_10)
    ledger.debit(account, 20, now=JAN_10)

    reversal = ledger.reverse(earned, points=60, shortfall=Shortfall.WRITE_OFF, now=JAN_20)

    assert (reversal.amount, reversal.debt) == (-60, 0)
    assert not account.entries.filter(kind=EntryKind.WRITE_OFF).exists()
    assert figures(account)[:3] == (20, 0, 0)


def test_a_debit_ignores_the_shortfall_policy(account):
    ledger.credit(account, 100, now=JAN_10)
    spend = ledger.debit(account, 40, now=JAN_10)

    reversal = ledger.reverse(spend, shortfall=Shortfall.WRITE_OFF, now=JAN_20)

    assert (reversal.amount, reversal.debt) == (40, 0)
    assert figures(account)[:3] == (100, 0, 0)


# What a reversal undid counts the points owed: a return is never repeated.


def test_a_return_that_left_points_owed_cannot_be_repeated(account, owing, spent):
    assert ledger.reversible_points(spent) == 0
    before = state(account)

    for shortfall in Shortfall.values:
        with pytest.raises(NotReversible):
            ledger.reverse(spent, shortfall=shortfall, now=JAN_20)

    assert state(account) == before
    assert figures(account)[2] == 70


def test_partial_returns_add_up_to_the_whole_and_no_more(account, spent):
    # when 50 of the 100 are returned (30 held: 20 owed), then the other 50 (none held: 50 owed)
    first = ledger.reverse(spent, points=50, shortfall=Shortfall.DEBT, now=JAN_20)
    assert (first.amount, first.debt) == (-30, 20)
    assert ledger.reversible_points(spent) == 50
    second = ledger.reverse(spent, shortfall=Shortfall.DEBT, now=JAN_20)

    # then the whole 100 is undone and nothing is left to return
    assert (second.amount, second.debt) == (0, 50)
    assert ledger.reversible_points(spent) == 0
    with pytest.raises(NotReversible):
        ledger.reverse(spent, points=1, shortfall=Shortfall.DEBT, now=JAN_20)
    assert figures(account) == (0, 0, 70, 70, 70, 0)
    assert qualifying_points(account) == 0
    assert_sound()


# Repayment: the next points that arrive pay the debt first.


def test_the_next_earn_pays_the_debt_first(account, owing):
    # when 50 points are earned, then 100 more
    first = ledger.credit(account, 50, expires_on=None, now=JAN_20)

    # then the credit is returned as written, and a repayment follows it, caused by it
    assert (first.kind, first.amount, first.debt, first.balance_after) == (EntryKind.EARN, 50, 0, 50)
    assert (account.balance, account.pending, account.debt) == (0, 0, 20)  # the caller's instance is current
    repay = account.entries.get(kind=EntryKind.REPAY)
    assert (repay.amount, repay.debt, repay.balance_after) == (-50, -50, 0)
    assert (repay.cause, repay.actor, repay.idempotency_key) == (first, None, "")
    assert (repay.memo_code, repay.memo_params) == ("debt_repaid", {"owed": 20})
    assert repay.memo_display == "Pays back part of the points you owed after a return: 20 points still owed"
    assert list(repay.allocations.values_list("lot__entry", "points")) == [(first.pk, -50)]

    second = ledger.credit(account, 100, expires_on=None, now=JAN_20)

    assert entries(account)[3:] == [
        (EntryKind.EARN, 50, 0, 50),
        (EntryKind.REPAY, -50, -50, 0),
        (EntryKind.EARN, 100, 0, 100),
        (EntryKind.REPAY, -20, -20, 80),
    ]
    last = account.entries.filter(kind=EntryKind.REPAY).latest("pk")
    assert last.cause == second
    assert last.memo_display == "Pays back the points you owed after a return: you owe nothing now"
    # earned goes down by what repaid the debt: 70 + 150 - 70 == 150; 150 - 70 spent == 80 held
    assert figures(account) == (80, 0, 0, 150, 70, 0)
    assert lots(account) == [(0, False), (0, False), (80, False)]
    # what was earned counts towards tiers, even the points that paid the debt
    assert qualifying_points(account) == 150
    assert_sound()


def test_a_pending_earn_pays_the_debt_from_its_pending_lot(account, owing):
    # when 100 points are earned, pending until 1 March
    ledger.credit(account, 100, available_at=MAR_1, now=JAN_20)

    # then 70 of them pay the debt at once; the 30 left become available on 1 March
    assert entries(account)[3:] == [(EntryKind.EARN, 100, 0, 0), (EntryKind.REPAY, -70, -70, 0)]
    assert figures(account) == (0, 30, 0, 100, 70, 0)
    assert lots(account) == [(0, False), (30, True)]
    ledger.release_pending(now=MAR_1)
    assert figures(account)[:3] == (30, 0, 0)
    assert_sound(now=MAR_1)


def test_a_debt_is_repaid_in_part_by_several_credits(account, owing):
    for points in (10, 20, 30):
        ledger.credit(account, points, now=JAN_20)

    assert [row[:3] for row in entries(account)[3:]] == [
        (EntryKind.EARN, 10, 0),
        (EntryKind.REPAY, -10, -10),
        (EntryKind.EARN, 20, 0),
        (EntryKind.REPAY, -20, -20),
        (EntryKind.EARN, 30, 0),
        (EntryKind.REPAY, -30, -30),
    ]
    assert list(account.entries.filter(kind=EntryKind.REPAY).order_by("pk").values_list("memo_params", flat=True)) == [
        {"owed": 60},
        {"owed": 40},
        {"owed": 10},
    ]
    assert figures(account) == (0, 0, 10, 70, 70, 0)
    assert_sound()


def test_a_debits_reversal_pays_the_debt_first(account):
    # given 100 earned, 70 spent, and the 100 returned: 70 owed
    earned = ledger.credit(account, 100, expires_on=None, now=JAN_10)
    spend = ledger.debit(account, 70, now=JAN_10)
    ledger.reverse(earned, shortfall=Shortfall.DEBT, now=JAN_20)

    # when 50 of the spent points are given back (a cancelled redemption)
    reversal = ledger.reverse(spend, points=50, now=JAN_20)

    # then they pay the debt: 20 are still owed
    assert (reversal.amount, reversal.debt, reversal.balance_after) == (50, 0, 50)
    assert entries(account)[3:] == [(EntryKind.REVERSE, 50, 0, 50), (EntryKind.REPAY, -50, -50, 0)]
    assert account.entries.get(kind=EntryKind.REPAY).cause == reversal
    assert figures(account) == (0, 0, 20, 20, 20, 0)
    assert lots(account) == [(0, False)]
    assert_sound()


def test_points_given_back_to_a_lot_past_its_last_day_expire_and_repay_nothing(account):
    # given 100 points expiring 31 January, 70 spent, and the 100 returned: 70 owed
    earned = ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=JAN_10)
    spend = ledger.debit(account, 70, now=JAN_10)
    ledger.reverse(earned, shortfall=Shortfall.DEBT, now=JAN_20)

    # when the spend is reversed in February
    ledger.reverse(spend, now=FEB_5)

    # then the points land in their lot, expire at once, and the debt is still owed
    assert [row[:3] for row in entries(account)[3:]] == [(EntryKind.REVERSE, 70, 0), (EntryKind.EXPIRE, -70, 0)]
    assert figures(account) == (0, 0, 70, 70, 0, 70)
    assert_sound(now=FEB_5)


def test_a_gift_received_pays_the_debt_first(owing):
    # given a member owing 70 and a friend holding 100
    friend = MemberFactory().account
    ledger.credit(friend, 100, expires_on=date(2027, 6, 30), now=JAN_10)
    sender = Member.objects.get(pk=friend.member_id)

    # when the friend gives 30 points
    moved = ledger.transfer(friend, owing, 30, EntryKind.GIFT, cause=sender, now=JAN_20)

    # then the 30 pay the debt; the friend's side is an ordinary gift
    assert (moved.credit.amount, moved.credit.balance_after) == (30, 30)
    assert entries(owing)[3:] == [(EntryKind.GIFT, 30, 0, 30), (EntryKind.REPAY, -30, -30, 0)]
    assert owing.entries.get(kind=EntryKind.REPAY).cause == moved.credit
    assert (owing.balance, owing.debt) == (0, 40)  # the caller's instance is current
    assert figures(owing) == (0, 0, 40, 70, 70, 0)
    assert figures(friend)[:3] == (70, 0, 0)
    assert_sound()


def test_a_merge_into_an_account_that_owes_pays_the_debt_first(owing):
    duplicate = MemberFactory().account
    ledger.credit(duplicate, 50, expires_on=None, now=JAN_10)
    ledger.credit(duplicate, 40, available_at=MAR_1, expires_on=date(2027, 12, 31), now=JAN_10)
    merged = Member.objects.get(pk=duplicate.member_id)

    ledger.transfer(duplicate, owing, None, EntryKind.MERGE, cause=merged, now=JAN_20)

    # the pending lot expires soonest (the other never): it pays first, then 30 of the 50
    assert entries(owing)[3:] == [(EntryKind.MERGE, 90, 0, 50), (EntryKind.REPAY, -70, -70, 20)]
    assert figures(owing)[:3] == (20, 0, 0)
    assert lots(owing) == [(0, False), (0, True), (20, False)]
    assert_sound()


def test_a_credit_whose_points_were_gifted_away_can_be_returned_with_debt(account):
    # given 100 points earned and all given to a friend (issue 8's case left for this issue)
    earned = ledger.credit(account, 100, now=JAN_10)
    friend = MemberFactory().account
    ledger.transfer(account, friend, 100, EntryKind.GIFT, cause=Member.objects.get(pk=account.member_id), now=JAN_10)

    # when the goods are returned
    with pytest.raises(InsufficientPoints):
        ledger.reverse(earned, now=JAN_20)
    reversal = ledger.reverse(earned, shortfall=Shortfall.DEBT, now=JAN_20)

    # then the whole 100 is owed; the friend keeps the gift; the earn no longer counts towards tiers
    assert (reversal.amount, reversal.debt) == (0, 100)
    assert reversal.allocations.count() == 0
    assert figures(account) == (0, 0, 100, 100, 100, 0)
    assert figures(friend)[:3] == (100, 0, 0)
    assert qualifying_points(account) == 0
    assert_sound()


def test_an_account_without_debt_writes_no_repayment(account):
    ledger.credit(account, 100, now=JAN_10)
    ledger.reverse(ledger.debit(account, 40, now=JAN_10), now=JAN_10)

    assert not Entry.objects.filter(kind__in=[EntryKind.REPAY, EntryKind.WRITE_OFF]).exists()


def test_repayments_and_write_offs_are_not_reversible(account, owing):
    ledger.credit(account, 30, now=JAN_20)  # repays 30
    bonus = ledger.credit(account, 10, "bonus", now=JAN_20)  # repays 10
    ledger.reverse(bonus, shortfall=Shortfall.WRITE_OFF, now=JAN_20)  # nothing held: 10 written off
    assert account.entries.filter(kind__in=[EntryKind.REPAY, EntryKind.WRITE_OFF]).count() == 3

    for entry in account.entries.filter(kind__in=[EntryKind.REPAY, EntryKind.WRITE_OFF]):
        with pytest.raises(NotReversible):
            ledger.reverse(entry, now=JAN_20)


# Replays.


def test_a_repeated_return_returns_the_first_and_changes_nothing(account, spent):
    first = ledger.reverse(spent, shortfall=Shortfall.WRITE_OFF, idempotency_key="return-1", now=JAN_20)
    before = state(account)

    again = ledger.reverse(spent, shortfall=Shortfall.WRITE_OFF, idempotency_key="return-1", now=JAN_20)
    same_points = ledger.reverse(
        spent, points=100, shortfall=Shortfall.WRITE_OFF, idempotency_key="return-1", now=JAN_20
    )

    assert again.pk == same_points.pk == first.pk
    assert state(account) == before
    assert account.entries.filter(kind=EntryKind.WRITE_OFF).count() == 1


@pytest.mark.parametrize(
    ("first_policy", "repeated", "points"),
    [
        (Shortfall.DEBT, Shortfall.WRITE_OFF, None),
        (Shortfall.DEBT, Shortfall.REFUSE, None),
        (Shortfall.WRITE_OFF, Shortfall.DEBT, None),
        (Shortfall.WRITE_OFF, Shortfall.REFUSE, None),
        (Shortfall.DEBT, Shortfall.DEBT, 30),
    ],
    ids=["debt then write-off", "debt then refuse", "write-off then debt", "write-off then refuse", "other points"],
)
def test_the_same_key_for_another_return_is_a_conflict(account, spent, first_policy, repeated, points):
    ledger.reverse(spent, shortfall=first_policy, idempotency_key="return-1", now=JAN_20)
    before = state(account)

    with pytest.raises(IdempotencyConflict):
        ledger.reverse(spent, points=points, shortfall=repeated, idempotency_key="return-1", now=JAN_20)

    assert state(account) == before


def test_a_return_that_owed_nothing_repeats_under_any_policy(account):
    earned = ledger.credit(account, 100, now=JAN_10)
    first = ledger.reverse(earned, points=40, shortfall=Shortfall.DEBT, idempotency_key="return-1", now=JAN_20)

    again = ledger.reverse(earned, points=40, idempotency_key="return-1", now=JAN_20)

    assert again.pk == first.pk


def test_a_repeated_credit_repays_nothing_twice(account, owing):
    first = ledger.credit(account, 50, idempotency_key="order-9", now=JAN_20)
    before = state(account)

    again = ledger.credit(account, 50, idempotency_key="order-9", now=JAN_20)

    assert again.pk == first.pk
    assert state(account) == before
    assert (account.balance, account.debt) == (0, 20)


# Validation.


@pytest.mark.parametrize(
    "spend",
    [Decimal("-1.00"), 10.5, Decimal("NaN")],
    ids=["negative", "float", "not a number"],
)
def test_a_spend_is_an_amount_of_money_zero_or_more(account, spent, spend):
    before = state(account)

    with pytest.raises(ValidationError) as credit_refused:
        ledger.credit(account, 10, spend_amount=spend, now=JAN_20)
    with pytest.raises(ValidationError) as reverse_refused:
        ledger.reverse(spent, shortfall=Shortfall.DEBT, spend_amount=spend, now=JAN_20)

    assert credit_refused.value.details == reverse_refused.value.details == {"field": "spend_amount"}
    assert state(account) == before


def test_only_points_that_count_towards_tiers_carry_a_spend(account):
    ledger.credit(account, 100, now=JAN_10)
    spend = ledger.debit(account, 10, now=JAN_10)
    goodwill = ledger.adjust(account, 20, reason="Goodwill", now=JAN_10)
    before = state(account)

    with pytest.raises(ValidationError):
        ledger.credit(account, 10, EntryKind.ADJUST, memo="Goodwill", spend_amount=Decimal("5.00"), now=JAN_20)
    for entry in (spend, goodwill):
        with pytest.raises(ValidationError):
            ledger.reverse(entry, spend_amount=Decimal("5.00"), now=JAN_20)

    assert state(account) == before


def test_an_unknown_shortfall_policy_is_refused(account, spent):
    before = state(account)

    with pytest.raises(ValidationError) as refused:
        ledger.reverse(spent, shortfall="clamp", now=JAN_20)

    assert refused.value.details == {"field": "shortfall"}
    assert state(account) == before


def test_a_credits_spend_counts_towards_tiers_on_its_day(account):
    ledger.credit(account, 120, spend_amount=Decimal("60.50"), now=JAN_10)

    day = QualifyingDay.objects.get(member_id=account.member_id)
    assert (day.day, day.points, day.spend_amount) == (date(2027, 1, 10), 120, Decimal("60.50"))


def test_a_return_gives_the_spend_back_even_when_it_takes_no_points(account):
    earned = ledger.credit(account, 100, spend_amount=Decimal("40.00"), now=JAN_10)
    ledger.debit(account, 100, now=JAN_10)

    ledger.reverse(earned, points=25, shortfall=Shortfall.DEBT, spend_amount=Decimal("10.00"), now=JAN_20)

    day = QualifyingDay.objects.get(member_id=account.member_id)
    assert (day.points, day.spend_amount) == (75, Decimal("30.00"))
    assert figures(account)[:3] == (0, 0, 25)


# The audit and what people read.


def test_the_audit_reports_a_debt_changed_by_hand(owing):
    from tests.ledger.test_guards import run_sql

    run_sql("UPDATE ledger_account SET debt = debt + 5 WHERE id = %s", [owing.pk])

    problems = audit(now=JAN_20)

    assert problems == [
        f"account {owing.pk}: balance 0 + pending 0 + held 0; entries sum to 0; available lots hold 0, "
        "pending lots 0; earned 70 - spent 70 - expired 0; debt 75, entries change it by 70; entries hold 0, "
        "open holds 0"
    ]


def test_repayments_and_write_offs_render_in_the_admin_and_the_portal(admin_client, client, account, spent):
    ledger.reverse(spent, points=50, shortfall=Shortfall.WRITE_OFF, now=JAN_20)
    ledger.reverse(spent, points=50, shortfall=Shortfall.DEBT, now=JAN_20)
    ledger.credit(account, 20, now=JAN_20)
    assert ContentType.objects.get_for_model(Entry).pk == account.entries.get(kind=EntryKind.REPAY).cause_type_id

    entry_list = admin_client.get(reverse("admin:ledger_entry_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    account_list = admin_client.get(reverse("admin:ledger_account_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(account.member.user)
    history = client.get(reverse("portal:history"), HTTP_ACCEPT_LANGUAGE="en")

    for page in (entry_list, history):
        text = page.content.decode()
        assert page.status_code == 200
        assert "Debt repaid" in text
        assert "Written off" in text
        assert "20 points you owed after a return were written off" in text
        assert "Pays back part of the points you owed after a return: 30 points still owed" in text
    assert account_list.status_code == 200
    assert "column-debt" in account_list.content.decode()
    assert Allocation.objects.filter(entry__kind=EntryKind.REPAY).count() == 1


def test_the_member_and_staff_read_what_is_owed(admin_client, client, account, owing):
    client.force_login(account.member.user)

    dashboard = client.get(reverse("portal:dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    support = admin_client.get(
        reverse("admin:members_member_change", args=[account.member_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "You owe 70 points after a return: the next points you get pay them first." in dashboard
    assert "Owes 70 points after a return: the next points pay them first." in support


def test_nothing_is_said_of_a_debt_when_there_is_none(client, account, spent):
    client.force_login(account.member.user)

    dashboard = client.get(reverse("portal:dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-testid="debt"' not in dashboard


@pytest.mark.postgres
def test_on_postgresql_a_credit_that_repays_costs_two_statements_more(account, owing, django_assert_num_queries):
    ledger.credit(account, 10, now=JAN_20)  # the Entry content type is cached after the first repayment

    # a savepoint, the lock, the credit's statement, the lots holding points, the repayment's
    # statement, the qualifying day and the tiers (none), the release; without a debt: 6
    with django_assert_num_queries(8):
        ledger.credit(account, 10, now=JAN_20)

    assert figures(account)[:3] == (0, 0, 50)
