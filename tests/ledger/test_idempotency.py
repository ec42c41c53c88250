"""Idempotency keys: the same request has its effect once, and the repeat returns the first entry."""

from datetime import UTC, datetime

import pytest

from loyalty.exceptions import IdempotencyConflict
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, Entry, EntryKind
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import ledger_state as state

NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)


@pytest.fixture
def funded(account):
    """An account holding 100 points from an earlier credit without a key."""
    ledger.credit(account, 100, expires_on=None, now=NOW)
    return account


OPERATIONS = {
    "credit": lambda account, key: ledger.credit(account, 30, idempotency_key=key, now=NOW),
    "debit": lambda account, key: ledger.debit(account, 30, idempotency_key=key, now=NOW),
    "adjust up": lambda account, key: ledger.adjust(account, 30, reason="goodwill", idempotency_key=key, now=NOW),
    "adjust down": lambda account, key: ledger.adjust(account, -30, reason="error", idempotency_key=key, now=NOW),
    "reverse": lambda account, key: ledger.reverse(
        account.entries.earliest("pk"), points=30, idempotency_key=key, now=NOW
    ),
}
BALANCE_AFTER = {"credit": 130, "debit": 70, "adjust up": 130, "adjust down": 70, "reverse": 70}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_the_same_key_twice_has_its_effect_once_and_returns_the_first_entry(funded, operation):
    # given a call made with a key
    first = OPERATIONS[operation](funded, "request-1")
    after_first = state(funded)

    # when it is repeated with the same key
    again = OPERATIONS[operation](funded, "request-1")

    # then the repeat returns the same entry and changes nothing
    assert again.pk == first.pk
    assert (again.kind, again.amount) == (first.kind, first.amount)
    assert state(funded) == after_first
    assert funded.balance == BALANCE_AFTER[operation]
    assert funded.entries.count() == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            lambda a: ledger.credit(a, 30, idempotency_key="k", now=NOW),
            lambda a: ledger.credit(a, 31, idempotency_key="k", now=NOW),
        ),
        (
            lambda a: ledger.credit(a, 30, EntryKind.EARN, idempotency_key="k", now=NOW),
            lambda a: ledger.credit(a, 30, EntryKind.BONUS, idempotency_key="k", now=NOW),
        ),
        (
            lambda a: ledger.credit(a, 30, idempotency_key="k", now=NOW),
            lambda a: ledger.debit(a, 30, idempotency_key="k", now=NOW),
        ),
        (
            lambda a: ledger.debit(a, 30, idempotency_key="k", now=NOW),
            lambda a: ledger.debit(a, 20, idempotency_key="k", now=NOW),
        ),
        (
            lambda a: ledger.debit(a, 30, idempotency_key="k", now=NOW),
            lambda a: ledger.adjust(a, -30, reason="error", idempotency_key="k", now=NOW),
        ),
        (
            lambda a: ledger.adjust(a, 30, reason="goodwill", idempotency_key="k", now=NOW),
            lambda a: ledger.adjust(a, -30, reason="goodwill", idempotency_key="k", now=NOW),
        ),
        (
            lambda a: ledger.reverse(a.entries.earliest("pk"), points=30, idempotency_key="k", now=NOW),
            lambda a: ledger.reverse(a.entries.earliest("pk"), points=20, idempotency_key="k", now=NOW),
        ),
        (
            lambda a: ledger.credit(a, 30, idempotency_key="k", now=NOW),
            lambda a: ledger.reverse(a.entries.earliest("pk"), idempotency_key="k", now=NOW),
        ),
    ],
    ids=[
        "credit, other amount",
        "credit, other kind",
        "credit then debit",
        "debit, other amount",
        "debit then adjustment",
        "adjust up then down",
        "reverse, other points",
        "credit then reverse",
    ],
)
def test_the_same_key_for_a_different_request_is_a_conflict_and_writes_nothing(funded, first, second):
    # given a call made with a key
    first(funded)
    before = state(funded)

    # when another request reuses the key
    with pytest.raises(IdempotencyConflict) as refused:
        second(funded)

    # then it is refused with its code, and nothing changed
    assert refused.value.code == "idempotency_conflict"
    assert state(funded) == before


def test_the_same_key_to_reverse_another_entry_is_a_conflict_and_writes_nothing(funded):
    # given a partial reversal of the first credit made with a key, and a second credit
    ledger.reverse(funded.entries.get(), points=30, idempotency_key="return-1", now=NOW)
    other_credit = ledger.credit(funded, 5, now=NOW)
    before = state(funded)

    # when the key is reused to reverse the second credit
    with pytest.raises(IdempotencyConflict):
        ledger.reverse(other_credit, idempotency_key="return-1", now=NOW)

    # then nothing changed
    assert state(funded) == before


def test_a_key_belongs_to_one_account(funded):
    # given another account
    other = MemberFactory().account

    # when both are credited with the same key
    first = ledger.credit(funded, 30, idempotency_key="order-1", now=NOW)
    second = ledger.credit(other, 30, idempotency_key="order-1", now=NOW)

    # then both are credited
    assert first.pk != second.pk
    funded.refresh_from_db()
    other.refresh_from_db()
    assert (funded.balance, other.balance) == (130, 30)


def test_a_repeated_debit_returns_the_first_entry_even_when_it_could_not_be_made_again(funded):
    # given a debit of 60 with a key, then another of 40 that empties the account
    first = ledger.debit(funded, 60, idempotency_key="order-1", now=NOW)
    ledger.debit(funded, 40, now=NOW)

    # when the first request is repeated
    again = ledger.debit(funded, 60, idempotency_key="order-1", now=NOW)

    # then it is answered from the first entry, not refused for want of points
    assert again.pk == first.pk
    funded.refresh_from_db()
    assert (funded.balance, funded.entries.count()) == (0, 3)


def test_a_repeated_full_reversal_returns_the_first_reversal(funded):
    debit = ledger.debit(funded, 40, now=NOW)
    first = ledger.reverse(debit, idempotency_key="return-1", now=NOW)
    after_first = state(funded)

    again = ledger.reverse(debit, idempotency_key="return-1", now=NOW)
    same_points = ledger.reverse(debit, points=40, idempotency_key="return-1", now=NOW)

    assert again.pk == same_points.pk == first.pk
    assert state(funded) == after_first
    assert funded.balance == 100


def test_a_repeat_brings_the_callers_account_up_to_date_like_the_first_call(account):
    ledger.credit(account, 100, idempotency_key="order-1", now=NOW)
    stale = Account.objects.get(pk=account.pk)
    ledger.debit(account, 30, now=NOW)

    ledger.credit(stale, 100, idempotency_key="order-1", now=NOW)

    assert (stale.balance, stale.lifetime_spent) == (70, 30)


def test_one_key_from_two_partners_and_a_staff_user_names_three_requests(funded, django_user_model):
    # given two partners and a staff user who all send the key "order-1" for the same member
    first_partner, second_partner = PartnerFactory(), PartnerFactory()
    staff = django_user_model.objects.create_user(username="agent", is_staff=True)

    # when each credits with it, and the first partner repeats its request
    by_first = ledger.credit(funded, 10, idempotency_key="order-1", actor=first_partner, now=NOW)
    by_second = ledger.credit(funded, 20, idempotency_key="order-1", actor=second_partner, now=NOW)
    by_staff = ledger.adjust(funded, 40, reason="goodwill", idempotency_key="order-1", actor=staff, now=NOW)
    by_system = ledger.credit(funded, 80, idempotency_key="order-1", now=NOW)
    again = ledger.credit(funded, 10, idempotency_key="order-1", actor=first_partner, now=NOW)

    # then each actor's request had its effect once, and no key collided with another's
    assert len({by_first.pk, by_second.pk, by_staff.pk, by_system.pk}) == 4
    assert again.pk == by_first.pk
    assert funded.balance == 100 + 10 + 20 + 40 + 80
    assert funded.entries.filter(idempotency_key="order-1").count() == 4


def test_a_partner_cannot_replay_or_conflict_with_another_partners_key(funded):
    # given partner 1 debited 30 with a key
    first_partner, second_partner = PartnerFactory(), PartnerFactory()
    ledger.debit(funded, 30, idempotency_key="till-7", actor=first_partner, now=NOW)

    # when partner 2 sends a different request with the same key, it is its own request
    other = ledger.credit(funded, 5, idempotency_key="till-7", actor=second_partner, now=NOW)

    # then it was credited (no conflict, no replay of partner 1's debit)
    assert (other.kind, other.amount) == (EntryKind.EARN, 5)
    assert funded.balance == 75
    # and partner 1's own different request with its key is still a conflict
    with pytest.raises(IdempotencyConflict):
        ledger.credit(funded, 5, idempotency_key="till-7", actor=first_partner, now=NOW)


def test_a_replayed_reversal_brings_the_callers_account_up_to_date(funded):
    # given a caller holding the credit with its account loaded before a reversal was made
    credit = funded.entries.get()
    stale = Entry.objects.select_related("account").get(pk=credit.pk)
    ledger.reverse(Entry.objects.get(pk=credit.pk), points=40, idempotency_key="return-1", now=NOW)
    assert stale.account.balance == 100

    # when it repeats the reversal
    again = ledger.reverse(stale, points=40, idempotency_key="return-1", now=NOW)

    # then it reads the balance after the reversal, as after a first call
    assert again.amount == -40
    assert stale.account.balance == 60
