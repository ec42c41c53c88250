"""The database itself guards the ledger, on PostgreSQL and on SQLite: each test bypasses the ORM.

A row is forged by copying a real one (written by the services) with one column changed,
so the tests need no column list of their own.
"""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Allocation, Entry, Lot
from loyalty.partners.models import IdempotentResponse
from loyalty.partners.services import idempotent_run
from tests.factories.partners import PartnerFactory
from tests.helpers import ledger_state


def run_sql(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def copy_row(model, pk: int, **changes) -> None:
    """INSERT a copy of ``model``'s row ``pk`` with ``changes`` (column: value), by SQL."""
    columns = [field.column for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    values = ", ".join("%s" if column in changes else quote(column) for column in columns)
    run_sql(
        f"INSERT INTO {model._meta.db_table} ({', '.join(map(quote, columns))})"
        f" SELECT {values} FROM {model._meta.db_table} WHERE id = %s",
        [changes[column] for column in columns if column in changes] + [pk],
    )


@pytest.fixture
def credited(account):
    ledger.credit(account, 100, idempotency_key="first")
    return account


@pytest.fixture
def debited(credited):
    ledger.debit(credited, 30)
    return credited


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ledger_entry SET amount = 999 WHERE id = %s", "DELETE FROM ledger_entry WHERE id = %s"],
    ids=["update", "delete"],
)
def test_the_trigger_refuses_to_change_or_delete_an_entry(credited, sql):
    entry = credited.entries.get()

    with pytest.raises(IntegrityError, match="immutable"):
        run_sql(sql, [entry.pk])

    assert Entry.objects.get(pk=entry.pk).amount == 100


@pytest.mark.parametrize(
    "sql",
    ["UPDATE ledger_allocation SET points = -1 WHERE id = %s", "DELETE FROM ledger_allocation WHERE id = %s"],
    ids=["update", "delete"],
)
def test_the_trigger_refuses_to_change_or_delete_an_allocation(debited, sql):
    allocation = Allocation.objects.get()
    before = ledger_state(debited)

    with pytest.raises(IntegrityError, match="immutable"):
        run_sql(sql, [allocation.pk])

    assert Allocation.objects.get(pk=allocation.pk).points == -30
    assert ledger_state(debited) == before


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE ledger_account SET balance = -1 WHERE id = %s", "account_balance_not_negative"),
        ("UPDATE ledger_account SET pending = -1 WHERE id = %s", "account_pending_not_negative"),
        ("UPDATE ledger_lot SET remaining = amount + 1 WHERE account_id = %s", "lot_remaining_within_amount"),
        ("UPDATE ledger_lot SET remaining = -1 WHERE account_id = %s", "lot_remaining_within_amount"),
        ("UPDATE ledger_lot SET expired = -1 WHERE account_id = %s", "lot_expired_not_negative"),
        ("UPDATE ledger_lot SET amount = 0, remaining = 0 WHERE account_id = %s", "lot_amount_positive"),
    ],
    ids=["negative balance", "negative pending", "remaining over amount", "negative remaining", "negative expired",
         "lot of nothing"],
)  # fmt: skip
def test_each_constraint_on_accounts_and_lots_fires(credited, sql, constraint):
    before = ledger_state(credited)

    with pytest.raises(IntegrityError, match=constraint):
        run_sql(sql, [credited.pk])

    assert ledger_state(credited) == before
    assert list(Lot.objects.values_list("amount", "remaining")) == [(100, 100)]


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE ledger_account SET debt = 5 WHERE id = %s", "account_debt_without_points"),
        ("UPDATE ledger_account SET balance = 0, pending = 100, debt = 5 WHERE id = %s",
         "account_debt_without_points"),
        ("UPDATE ledger_account SET balance = 0, lifetime_earned = 0, debt = -1 WHERE id = %s",
         "account_debt_not_negative"),
    ],
    ids=["debt beside a balance", "debt beside pending points", "negative debt"],
)  # fmt: skip
def test_each_constraint_on_debt_fires(credited, sql, constraint):
    before = ledger_state(credited)

    with pytest.raises(IntegrityError, match=constraint):
        run_sql(sql, [credited.pk])

    assert ledger_state(credited) == before


def test_an_account_that_owes_points_cannot_be_given_a_balance_behind_the_ledger(account):
    # given an account owing 70 points after a return, written by the services
    earned = ledger.credit(account, 100)
    ledger.debit(account, 70)
    ledger.reverse(earned, shortfall="debt")
    before = ledger_state(account)

    # when points are added by hand, spendable or pending
    for sql in (
        "UPDATE ledger_account SET balance = 10 WHERE id = %s",
        "UPDATE ledger_account SET pending = 10 WHERE id = %s",
    ):
        with pytest.raises(IntegrityError, match="account_debt_without_points"):
            run_sql(sql, [account.pk])

    # then nothing changed: the debt is still owed, nothing held
    assert ledger_state(account) == before
    assert (account.balance, account.pending, account.debt) == (0, 0, 70)


def test_an_entry_may_move_only_debt_but_not_nothing(account):
    earned = ledger.credit(account, 100)
    ledger.debit(account, 100)
    reversal = ledger.reverse(earned, shortfall="write_off")
    write_off = account.entries.get(kind="write_off")
    assert (reversal.amount, write_off.amount, write_off.debt) == (0, 0, -100)

    with pytest.raises(IntegrityError, match="entry_amount_not_zero"):
        copy_row(Entry, write_off.pk, debt=0)

    assert account.entries.count() == 4


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"amount": 0, "idempotency_key": ""}, "entry_amount_not_zero"),
        ({"balance_after": -1, "idempotency_key": ""}, "entry_balance_after_not_negative"),
        ({}, "entry_idempotency_key_unique_per_actor"),
    ],
    ids=["zero entry", "negative balance after", "repeated idempotency key of one actor"],
)
def test_each_constraint_on_entries_fires(credited, changes, constraint):
    entry = credited.entries.get()
    before = ledger_state(credited)

    with pytest.raises(IntegrityError, match=constraint):
        copy_row(Entry, entry.pk, **changes)

    assert ledger_state(credited) == before


def test_the_same_key_of_another_actor_is_another_row(credited):
    # The unique index scopes a key by actor: a copy by another actor (a content type and
    # id that no system entry has) is accepted.
    entry = credited.entries.get()
    partner = PartnerFactory()

    copy_row(Entry, entry.pk, actor_type_id=_content_type_id(partner), actor_id=str(partner.pk))

    assert Entry.objects.filter(idempotency_key="first").count() == 2


def test_an_allocation_of_no_points_is_refused(debited):
    allocation = Allocation.objects.get()

    with pytest.raises(IntegrityError, match="allocation_points_not_zero"):
        copy_row(Allocation, allocation.pk, points=0)

    assert Allocation.objects.count() == 1


def test_a_partner_stores_one_response_per_idempotency_key(db):
    # given a response stored by the real service
    partner = PartnerFactory()
    idempotent_run(partner=partner, key="order-1", request_hash="a" * 64, action=lambda: (201, {"ok": True}))
    stored = IdempotentResponse.objects.get()

    # when a second row for the same partner and key is forged
    # (SQLite names the columns of a unique constraint on fields, PostgreSQL its name.)
    refusal = "idempotent_response_unique_per_partner|partners_idempotentresponse.partner_id, partners_idempotentre"
    with pytest.raises(IntegrityError, match=refusal):
        copy_row(IdempotentResponse, stored.pk, request_hash="b" * 64)

    # then only the first exists; another partner may use the same key
    assert IdempotentResponse.objects.count() == 1
    copy_row(IdempotentResponse, stored.pk, partner_id=PartnerFactory().pk)
    assert IdempotentResponse.objects.filter(key="order-1").count() == 2


def test_a_refused_change_leaves_the_transaction_usable_after_rollback(credited):
    with pytest.raises(DatabaseError):
        run_sql("DELETE FROM ledger_entry WHERE account_id = %s", [credited.pk])

    assert credited.entries.count() == 1


def _content_type_id(obj) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk
