"""Holds: points set aside by a till, then captured (all or less), voided, released when they expire, refunded."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from loyalty.exceptions import (
    HoldNotOpen,
    HoldOutOfRange,
    InsufficientPoints,
    MemberClosed,
    MemberSuspended,
    MergeRefused,
    NotReversible,
    ValidationError,
)
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Allocation, Entry, EntryKind, Hold, HoldStatus, Lot
from loyalty.ledger.tasks import release_expired_holds
from members.models import MemberStatus
from members.services import member_merge, member_status_change
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import ledger_state

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)
LATER = NOW + timedelta(minutes=15)
APRIL, MAY = date(2027, 4, 30), date(2027, 5, 31)


def run_sql(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def two_lots(account):
    """100 points good until May (opened first) and 100 until April: April's are spent first."""
    ledger.credit(account, 100, expires_on=MAY, cause=account.member, now=NOW)
    ledger.credit(account, 100, expires_on=APRIL, cause=account.member, now=NOW)
    return account


def lots(account) -> list[tuple[date, int]]:
    return list(Lot.objects.filter(account=account).order_by("pk").values_list("expires_on", "remaining"))


def figures(account) -> tuple:
    account.refresh_from_db()
    return account.balance, account.held, account.lifetime_spent


def place(account, points, **kwargs):
    return ledger.hold(account, points, expires_at=LATER, cause=account.member, now=NOW, **kwargs)


def test_held_points_leave_the_balance_and_cannot_be_spent(two_lots):
    hold = place(two_lots, 150)

    assert (hold.status, hold.points, hold.expires_at) == (HoldStatus.OPEN, 150, LATER)
    assert figures(two_lots) == (50, 150, 0)
    before = ledger_state(two_lots)
    with pytest.raises(InsufficientPoints):
        ledger.debit(two_lots, 51, now=NOW)
    with pytest.raises(InsufficientPoints):
        place(two_lots, 51)
    assert ledger_state(two_lots) == before
    ledger.debit(two_lots, 50, now=NOW)
    assert figures(two_lots) == (0, 150, 50)
    assert audit(now=NOW) == []


def test_a_hold_takes_the_soonest_expiring_points_first_like_a_debit(two_lots):
    hold = place(two_lots, 150)

    assert lots(two_lots) == [(MAY, 50), (APRIL, 0)]
    assert (hold.entry.kind, hold.entry.amount, hold.entry.held, hold.entry.balance_after) == (
        EntryKind.HOLD,
        -150,
        150,
        50,
    )
    assert sorted(hold.entry.allocations.values_list("points", flat=True)) == [-100, -50]


def test_a_hold_beyond_the_balance_is_refused_and_writes_nothing(two_lots):
    before = ledger_state(two_lots)

    with pytest.raises(InsufficientPoints) as refused:
        place(two_lots, 201)

    assert refused.value.details == {"available": 200, "requested": 201}
    assert ledger_state(two_lots) == before
    assert not Hold.objects.exists()


def test_capturing_less_releases_the_rest_to_the_same_lots_with_their_dates(two_lots):
    hold = place(two_lots, 150)

    capture = ledger.hold_capture(hold, points=60, now=NOW)

    assert (capture.kind, capture.amount, capture.held) == (EntryKind.CAPTURE, 0, -60)
    assert (hold.status, hold.captured, hold.released, hold.capture_entry_id) == (
        HoldStatus.CAPTURED,
        60,
        90,
        capture.pk,
    )
    release = Entry.objects.get(kind=EntryKind.RELEASE)
    assert (release.amount, release.held, release.reverses_id) == (90, -90, hold.entry_id)
    # the latest taken (50 of May's lot) comes back first, then 40 of April's
    assert lots(two_lots) == [(MAY, 100), (APRIL, 40)]
    assert figures(two_lots) == (140, 0, 60)
    assert audit(now=NOW) == []


def test_a_full_capture_spends_every_held_point_and_releases_nothing(two_lots):
    hold = place(two_lots, 150)

    ledger.hold_capture(hold, now=NOW)

    assert (hold.status, hold.captured, hold.released) == (HoldStatus.CAPTURED, 150, 0)
    assert not Entry.objects.filter(kind=EntryKind.RELEASE).exists()
    assert figures(two_lots) == (50, 0, 150)
    assert audit(now=NOW) == []


def test_a_void_gives_every_point_back(two_lots):
    hold = place(two_lots, 150)

    release = ledger.hold_void(hold, now=NOW)

    assert (release.kind, release.amount, release.held) == (EntryKind.RELEASE, 150, -150)
    assert (hold.status, hold.released, hold.closed_at) == (HoldStatus.VOIDED, 150, NOW)
    assert lots(two_lots) == [(MAY, 100), (APRIL, 100)]
    assert figures(two_lots) == (200, 0, 0)
    assert audit(now=NOW) == []


@pytest.mark.parametrize("close", ["capture", "void"])
def test_a_closed_hold_cannot_be_captured_or_voided_again(two_lots, close):
    hold = place(two_lots, 150)
    getattr(ledger, f"hold_{close}")(hold, now=NOW)
    before = ledger_state(two_lots)

    for again in (ledger.hold_capture, ledger.hold_void):
        with pytest.raises(HoldNotOpen) as refused:
            again(Hold.objects.get(pk=hold.pk), now=NOW)
        assert refused.value.details == {"status": hold.status}

    assert ledger_state(two_lots) == before


def test_capturing_more_than_held_is_refused(two_lots):
    hold = place(two_lots, 150)
    before = ledger_state(two_lots)

    with pytest.raises(HoldOutOfRange) as refused:
        ledger.hold_capture(hold, points=151, now=NOW)

    assert refused.value.details == {"field": "points", "min_points": 1, "max_points": 150}
    assert ledger_state(two_lots) == before
    assert Hold.objects.get().status == HoldStatus.OPEN


def test_a_hold_past_its_time_cannot_be_captured_and_the_task_releases_it(two_lots):
    hold = place(two_lots, 150)
    before = ledger_state(two_lots)

    with pytest.raises(HoldNotOpen) as refused:
        ledger.hold_capture(hold, now=LATER)

    assert refused.value.details == {"status": HoldStatus.EXPIRED}
    assert ledger_state(two_lots) == before
    assert ledger.holds_release_expired(now=LATER) == 1
    hold.refresh_from_db()
    assert (hold.status, hold.released, hold.closed_at) == (HoldStatus.EXPIRED, 150, LATER)


def test_the_task_releases_an_expired_hold_exactly_once(two_lots, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    expiring, lasting = place(two_lots, 50), ledger.hold(two_lots, 50, expires_at=LATER + timedelta(hours=1), now=NOW)

    first = ledger.holds_release_expired(now=LATER, batch_size=1)
    second = ledger.holds_release_expired(now=LATER, batch_size=1)

    assert (first, second) == (1, 0)
    assert Entry.objects.filter(kind=EntryKind.RELEASE).count() == 1
    assert Hold.objects.get(pk=expiring.pk).status == HoldStatus.EXPIRED
    assert Hold.objects.get(pk=lasting.pk).status == HoldStatus.OPEN
    assert figures(two_lots) == (150, 50, 0)
    assert audit(now=LATER) == []


def test_the_task_works_in_batches(db):
    accounts = [MemberFactory().account for _ in range(5)]
    for account in accounts:
        ledger.credit(account, 10, now=NOW)
        place(account, 4)
        place(account, 3)

    assert ledger.holds_release_expired(now=LATER, batch_size=3) == 10

    assert not Hold.objects.filter(status=HoldStatus.OPEN).exists()
    assert audit(now=LATER) == []


def test_the_celery_task_calls_the_service(two_lots, monkeypatch):
    place(two_lots, 10)
    monkeypatch.setattr("django.utils.timezone.now", lambda: LATER)

    assert release_expired_holds.apply().get() == 1
    assert release_expired_holds.apply().get() == 0


def test_points_released_into_a_lot_past_its_last_day_expire_at_once(two_lots):
    hold = ledger.hold(two_lots, 150, expires_at=datetime(2027, 5, 2, tzinfo=UTC), now=NOW)
    may_day = datetime(2027, 5, 1, 12, tzinfo=UTC)  # April's lot is past its last day

    ledger.hold_void(hold, now=may_day)

    assert lots(two_lots) == [(MAY, 100), (APRIL, 0)]
    assert figures(two_lots) == (100, 0, 0)
    two_lots.refresh_from_db()
    assert two_lots.lifetime_expired == 100
    assert audit(now=may_day) == []


def test_held_points_do_not_expire_while_held(two_lots):
    place(two_lots, 150)

    ledger.expire_due(now=datetime(2027, 5, 1, 1, tzinfo=UTC))

    two_lots.refresh_from_db()
    assert (two_lots.balance, two_lots.held, two_lots.lifetime_expired) == (50, 150, 0)


def test_a_hold_is_idempotent_by_key_and_actor(two_lots):
    partner = PartnerFactory()
    first = place(two_lots, 30, actor=partner, idempotency_key="basket-1")

    again = place(two_lots, 30, actor=partner, idempotency_key="basket-1")

    assert again.pk == first.pk
    assert figures(two_lots) == (170, 30, 0)
    assert (first.actor, first.cause) == (partner, two_lots.member)
    assert (first.entry.actor, first.entry.cause) == (partner, two_lots.member)


def test_a_hold_needs_a_time_after_now(two_lots):
    with pytest.raises(ValidationError):
        ledger.hold(two_lots, 10, expires_at=NOW, now=NOW)


def test_a_refund_of_a_capture_gives_its_points_back_to_the_holds_lots(two_lots):
    hold = place(two_lots, 150)
    capture = ledger.hold_capture(hold, points=120, now=NOW)  # 30 released: back to May's lot
    assert lots(two_lots) == [(MAY, 80), (APRIL, 0)]

    first = ledger.reverse(capture, points=30, now=NOW)
    rest = ledger.reverse(capture, now=NOW)

    assert (first.kind, first.amount, first.reverses_id, rest.amount) == (EntryKind.REVERSE, 30, capture.pk, 90)
    assert lots(two_lots) == [(MAY, 100), (APRIL, 100)]
    assert figures(two_lots) == (200, 0, 0)
    assert Hold.objects.get().refunded == 120
    with pytest.raises(NotReversible):
        ledger.reverse(capture, points=1, now=NOW)
    assert audit(now=NOW) == []


def test_a_refund_never_gives_back_more_than_was_captured(two_lots):
    capture = ledger.hold_capture(place(two_lots, 150), points=50, now=NOW)
    before = ledger_state(two_lots)

    with pytest.raises(NotReversible) as refused:
        ledger.reverse(capture, points=51, now=NOW)

    assert refused.value.details == {"reversible": 50}
    assert ledger_state(two_lots) == before


@pytest.mark.parametrize("kind", [EntryKind.HOLD, EntryKind.RELEASE])
def test_a_hold_or_its_release_is_not_reversed(two_lots, kind):
    ledger.hold_void(place(two_lots, 150), now=NOW)
    before = ledger_state(two_lots)

    with pytest.raises(NotReversible):
        ledger.reverse(Entry.objects.get(kind=kind), now=NOW)

    assert ledger_state(two_lots) == before


def test_a_suspended_member_cannot_hold_or_capture_but_a_void_and_a_refund_go_through(two_lots):
    hold, captured = place(two_lots, 50), ledger.hold_capture(place(two_lots, 50), now=NOW)
    member_status_change(member=two_lots.member, status=MemberStatus.SUSPENDED, reason="phone call")
    before = ledger_state(two_lots)

    with pytest.raises(MemberSuspended):
        place(two_lots, 10)
    with pytest.raises(MemberSuspended):
        ledger.hold_capture(hold, now=NOW)
    assert ledger_state(two_lots) == before

    ledger.hold_void(hold, now=NOW)
    ledger.reverse(captured, now=NOW)
    assert figures(two_lots) == (200, 0, 0)
    assert audit(now=NOW) == []


def test_closing_a_member_voids_its_holds_then_forfeits_every_point(two_lots):
    hold = place(two_lots, 150)

    member_status_change(member=two_lots.member, status=MemberStatus.CLOSED, reason="asked to leave")

    hold.refresh_from_db()
    assert (hold.status, hold.released) == (HoldStatus.VOIDED, 150)
    two_lots.refresh_from_db()
    assert (two_lots.balance, two_lots.held, two_lots.lifetime_expired) == (0, 0, 200)
    assert list(two_lots.entries.order_by("pk").values_list("kind", "amount"))[-2:] == [
        (EntryKind.RELEASE, 150),
        (EntryKind.FORFEIT, -200),
    ]
    with pytest.raises(HoldNotOpen):
        ledger.hold_void(hold, now=NOW)
    with pytest.raises(MemberClosed):
        place(two_lots, 1)
    assert audit(now=NOW) == []


def test_a_member_with_open_holds_cannot_be_merged(two_lots):
    survivor = MemberFactory()
    hold = place(two_lots, 10)
    before = ledger_state(two_lots)

    with pytest.raises(MergeRefused):
        member_merge(source=two_lots.member, survivor=survivor, reason="duplicate card")

    assert ledger_state(two_lots) == before
    two_lots.member.refresh_from_db()
    assert (two_lots.member.status, two_lots.member.merged_into_id) == (MemberStatus.ACTIVE, None)
    ledger.hold_void(hold, now=NOW)
    member_merge(source=two_lots.member, survivor=survivor, reason="duplicate card")
    survivor.account.refresh_from_db()
    assert survivor.account.balance == 200


def test_a_survivor_with_open_holds_may_receive_a_merge(two_lots):
    source = MemberFactory()
    ledger.credit(source.account, 40, now=NOW)
    place(two_lots, 10)

    member_merge(source=source, survivor=two_lots.member, reason="duplicate card")

    assert figures(two_lots) == (230, 10, 0)
    assert audit(now=NOW) == []


def test_a_release_into_an_account_that_owes_points_repays_the_debt_first(account):
    earned = ledger.credit(account, 100, now=NOW)
    hold = place(account, 100)
    ledger.reverse(earned, shortfall="debt", now=NOW)  # the 100 are held: all owed
    account.refresh_from_db()
    assert (account.balance, account.held, account.debt) == (0, 100, 100)

    release = ledger.hold_void(hold, now=NOW)

    repay = Entry.objects.get(kind=EntryKind.REPAY)
    assert (repay.amount, repay.cause) == (-100, release)
    assert figures(account) == (0, 0, 0)
    account.refresh_from_db()
    assert account.debt == 0
    assert audit(now=NOW) == []


def test_the_entries_of_a_hold_say_what_happened_in_the_readers_language(two_lots):
    ledger.hold_capture(place(two_lots, 150), points=120, now=NOW)
    ledger.hold_void(place(two_lots, 10), now=NOW)
    ledger.holds_release_expired(now=ledger.hold(two_lots, 5, expires_at=LATER, now=NOW).expires_at)
    ledger.reverse(Entry.objects.get(kind=EntryKind.CAPTURE), points=20, now=NOW)
    entries = list(two_lots.entries.filter(kind__in=["hold", "capture", "release", "reverse"]).order_by("pk"))

    with translation.override("en"):
        memos = [entry.memo_display for entry in entries]

    assert memos == [
        "150 points set aside for a payment at a till: not spent until the sale completes",
        "120 points set aside paid at the till",
        "30 points set aside were not needed at the till: they are yours again",
        "10 points set aside for a payment at a till: not spent until the sale completes",
        "The payment at the till was cancelled: 10 points set aside are yours again",
        "5 points set aside for a payment at a till: not spent until the sale completes",
        "The payment at the till was not completed in time: 5 points set aside are yours again",
        "A payment with points was refunded: 20 points back",
    ]
    assert all(entry.memo == "" and entry.memo_code for entry in entries)


def test_a_hold_runs_a_fixed_number_of_queries(two_lots, django_assert_num_queries):
    for _ in range(20):
        ledger.credit(two_lots, 1, now=NOW)
    queries = 6 if connection.vendor == "postgresql" else 10
    with django_assert_num_queries(queries):
        place(two_lots, 150)


# The audit and the database guard the held figures.


@pytest.fixture
def holding(two_lots):
    ledger.hold_capture(place(two_lots, 50), points=20, now=NOW)
    ledger.reverse(Entry.objects.get(kind=EntryKind.CAPTURE), points=5, now=NOW)
    place(two_lots, 70)
    assert audit(now=NOW) == []
    return two_lots


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE ledger_account SET held = held + 5, balance = balance - 5 WHERE id = %s", "+ held 75;"),
        ("UPDATE ledger_hold SET points = points + 1 WHERE account_id = %s AND status = 'open'", "71 points held"),
        ("UPDATE ledger_hold SET refunded = 4 WHERE account_id = %s AND status = 'captured'", "refunded 4"),
    ],
    ids=["account's held figure", "hold's points", "hold's refunded points"],
)
def test_the_audit_reports_a_held_figure_changed_by_hand(holding, sql, expected):
    run_sql(sql, [holding.pk])

    problems = audit(now=NOW)

    assert problems
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE ledger_account SET held = -1 WHERE id = %s", "account_held_not_negative"),
        ("UPDATE ledger_hold SET captured = 1 WHERE account_id = %s AND status = 'open'", "hold_closed_all_at_once"),
        ("UPDATE ledger_hold SET released = 0 WHERE account_id = %s AND status = 'captured'",
         "hold_closed_all_at_once"),
        ("UPDATE ledger_hold SET captured = 60 WHERE account_id = %s AND status = 'captured'",
         "hold_captured_released_within_points"),
        ("UPDATE ledger_hold SET refunded = 21 WHERE account_id = %s AND status = 'captured'",
         "hold_refunded_within_captured"),
    ],
    ids=["negative held", "open but captured", "closed with points left", "captured over points",
         "refunded over captured"],
)  # fmt: skip
def test_each_constraint_on_holds_fires(holding, sql, constraint):
    before = ledger_state(holding)

    with pytest.raises(IntegrityError, match=constraint):
        run_sql(sql, [holding.pk])

    assert ledger_state(holding) == before


def test_an_entry_may_move_only_held_points_but_entries_stay_immutable(holding):
    capture = Entry.objects.get(kind=EntryKind.CAPTURE)
    assert (capture.amount, capture.debt, capture.held) == (0, 0, -20)

    with pytest.raises(IntegrityError, match="immutable"):
        run_sql("UPDATE ledger_entry SET held = 0 WHERE id = %s", [capture.pk])
    with pytest.raises(IntegrityError, match="immutable"):
        run_sql("DELETE FROM ledger_allocation WHERE entry_id = %s", [Hold.objects.first().entry_id])

    assert Allocation.objects.filter(entry__kind=EntryKind.HOLD).count() == 2
