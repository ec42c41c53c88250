"""Refused input: every refusal raises the ledger's own error and writes nothing."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from loyalty.exceptions import InsufficientPoints, ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from tests.helpers import ledger_state as state

NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)


@pytest.fixture
def funded(account):
    ledger.credit(account, 100, expires_on=None, now=NOW)
    return account


BAD_POINTS = pytest.mark.parametrize(
    "points",
    [0, -5, True, False, 1.5, 10.0, Decimal(10), "10"],
    ids=["zero", "negative", "True", "False", "fraction", "float", "decimal", "string"],
)


@BAD_POINTS
@pytest.mark.parametrize(
    "verb",
    [
        lambda account, points: ledger.credit(account, points, now=NOW),
        lambda account, points: ledger.debit(account, points, now=NOW),
        lambda account, points: ledger.reverse(account.entries.get(), points=points, now=NOW),
    ],
    ids=["credit", "debit", "reverse"],
)
def test_points_must_be_a_positive_whole_number(funded, verb, points):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        verb(funded, points)

    assert refused.value.details == {"field": "points"}
    assert state(funded) == before


@pytest.mark.parametrize(
    "points", [0, True, 1.5, "10", None], ids=["zero", "True", "fraction", "string", "None"]
)  # fmt: skip
def test_an_adjustment_must_be_a_whole_number_other_than_zero(funded, points):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        ledger.adjust(funded, points, reason="correction", now=NOW)

    assert refused.value.details == {"field": "points"}
    assert state(funded) == before


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_an_adjustment_needs_a_reason(funded, reason):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        ledger.adjust(funded, 10, reason=reason, now=NOW)

    assert refused.value.details == {"field": "reason"}
    assert state(funded) == before


@pytest.mark.parametrize(
    ("verb", "kind"),
    [
        (ledger.credit, EntryKind.REDEEM),
        (ledger.credit, EntryKind.EXPIRE),
        (ledger.credit, EntryKind.REVERSE),
        (ledger.credit, "gift"),
        (ledger.debit, EntryKind.EARN),
        (ledger.debit, EntryKind.BONUS),
        (ledger.debit, EntryKind.EXPIRE),
        (ledger.debit, EntryKind.REVERSE),
        (ledger.debit, ""),
    ],
    ids=[
        "credit as redeem",
        "credit as expire",
        "credit as reverse",
        "credit as unknown",
        "debit as earn",
        "debit as bonus",
        "debit as expire",
        "debit as reverse",
        "debit as empty",
    ],
)
def test_a_wrong_kind_is_refused(funded, verb, kind):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        verb(funded, 10, kind, now=NOW)

    assert refused.value.details == {"field": "kind"}
    assert state(funded) == before


@pytest.mark.parametrize(
    "verb",
    [
        lambda account, memo: ledger.credit(account, 10, memo=memo, now=NOW),
        lambda account, memo: ledger.debit(account, 10, memo=memo, now=NOW),
        lambda account, memo: ledger.adjust(account, 10, reason=memo, now=NOW),
        lambda account, memo: ledger.reverse(account.entries.get(), points=10, memo=memo, now=NOW),
    ],
    ids=["credit", "debit", "adjust", "reverse"],
)
def test_a_memo_longer_than_255_characters_is_refused(funded, verb):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        verb(funded, "x" * 256)

    assert refused.value.details == {"field": "memo"}
    assert state(funded) == before


def test_a_memo_of_255_characters_is_kept(funded):
    entry = ledger.credit(funded, 10, memo="x" * 255, now=NOW)

    entry.refresh_from_db()
    assert entry.memo == "x" * 255


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "256 characters"])
def test_an_idempotency_key_has_1_to_255_characters(funded, key):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        ledger.credit(funded, 10, idempotency_key=key, now=NOW)

    assert refused.value.details == {"field": "idempotency_key"}
    assert state(funded) == before


@pytest.mark.parametrize(
    ("available_at", "expires_on"),
    [
        (None, date(2027, 1, 9)),
        (datetime(2027, 2, 1, tzinfo=UTC), date(2027, 1, 31)),
        (datetime(2027, 1, 5, tzinfo=UTC), date(2027, 1, 9)),  # a past availability counts from now
    ],
    ids=["expires yesterday", "expires before it becomes available", "expires before now"],
)
def test_points_cannot_expire_before_they_become_available(funded, available_at, expires_on):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        ledger.credit(funded, 10, available_at=available_at, expires_on=expires_on, now=NOW)

    assert refused.value.details == {"field": "expires_on"}
    assert state(funded) == before


def test_points_may_expire_on_the_day_they_become_available(funded):
    ledger.credit(funded, 10, available_at=datetime(2027, 2, 1, 8, tzinfo=UTC), expires_on=date(2027, 2, 1), now=NOW)

    funded.refresh_from_db()
    assert (funded.balance, funded.pending) == (100, 10)


@pytest.mark.parametrize(
    "spend",
    [
        lambda account: ledger.debit(account, 101, now=NOW),
        lambda account: ledger.adjust(account, -101, reason="correction", now=NOW),
    ],
    ids=["debit", "negative adjustment"],
)
def test_spending_more_than_the_balance_is_refused_and_writes_nothing(funded, spend):
    # given 100 points and 50 more still pending
    ledger.credit(funded, 50, available_at=datetime(2027, 2, 1, tzinfo=UTC), now=NOW)
    before = state(funded)

    # when 101 are spent
    with pytest.raises(InsufficientPoints) as refused:
        spend(funded)

    # then the error says what was short, and nothing changed
    assert refused.value.code == "insufficient_points"
    assert refused.value.details == {"available": 100, "requested": 101}
    assert state(funded) == before
    assert (before[0], len(before[5])) == (100, 2)


def test_spending_exactly_the_balance_is_allowed(funded):
    entry = ledger.debit(funded, 100, now=NOW)

    assert (entry.amount, entry.balance_after) == (-100, 0)
    funded.refresh_from_db()
    assert funded.balance == 0


NAIVE = datetime(2027, 1, 10, 12)  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    ("verb", "field"),
    [
        (lambda account: ledger.credit(account, 10, now=NAIVE), "now"),
        (lambda account: ledger.credit(account, 10, available_at=NAIVE, now=NOW), "available_at"),
        (lambda account: ledger.debit(account, 10, now=NAIVE), "now"),
        (lambda account: ledger.reverse(account.entries.get(), now=NAIVE), "now"),
        (lambda account: ledger.expire_due(now=NAIVE), "now"),
        (lambda account: ledger.release_pending(now=NAIVE), "now"),
    ],
    ids=["credit", "credit-available-at", "debit", "reverse", "expire-due", "release-pending"],
)
def test_a_time_without_its_time_zone_is_refused_and_writes_nothing(funded, verb, field):
    before = state(funded)

    with pytest.raises(ValidationError) as refused:
        verb(funded)

    assert refused.value.details == {"field": field}
    assert state(funded) == before
