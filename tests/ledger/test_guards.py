"""The database itself guards the ledger on PostgreSQL: each test bypasses the ORM."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, Lot

pytestmark = pytest.mark.postgres


def run_sql(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def credited(account):
    ledger.credit(account, 100, idempotency_key="first")
    return account


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


def test_the_trigger_refuses_to_change_an_allocation(credited):
    debit = ledger.debit(credited, 30)
    allocation = debit.allocations.get()

    with pytest.raises(IntegrityError, match="immutable"):
        run_sql("UPDATE ledger_allocation SET points = -1 WHERE id = %s", [allocation.pk])


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("UPDATE ledger_account SET balance = -1 WHERE id = %s", "account_balance_not_negative"),
        ("UPDATE ledger_account SET pending = -1 WHERE id = %s", "account_pending_not_negative"),
        ("UPDATE ledger_lot SET remaining = amount + 1 WHERE account_id = %s", "lot_remaining_within_amount"),
        ("UPDATE ledger_lot SET remaining = -1 WHERE account_id = %s", "lot_remaining_within_amount"),
        ("UPDATE ledger_lot SET expired = -1 WHERE account_id = %s", "lot_expired_not_negative"),
        (
            "INSERT INTO ledger_entry (account_id, kind, amount, balance_after, created_at, actor_id, cause_id, memo,"
            " idempotency_key) VALUES (%s, 'adjust', 0, 0, now(), '', '', '', '')",
            "entry_amount_not_zero",
        ),
        (
            "INSERT INTO ledger_entry (account_id, kind, amount, balance_after, created_at, actor_id, cause_id, memo,"
            " idempotency_key) VALUES (%s, 'earn', 5, 105, now(), '', '', '', 'first')",
            "entry_idempotency_key_unique_per_account",
        ),
    ],
    ids=["negative balance", "negative pending", "remaining over amount", "negative remaining", "negative expired",
         "zero entry", "repeated idempotency key"],
)  # fmt: skip
def test_each_constraint_fires(credited, sql, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        run_sql(sql, [credited.pk])

    credited.refresh_from_db()
    assert credited.balance == 100
    assert list(Lot.objects.values_list("remaining", flat=True)) == [100]


def test_a_refused_change_leaves_the_transaction_usable_after_rollback(credited):
    with pytest.raises(DatabaseError):
        run_sql("DELETE FROM ledger_entry WHERE account_id = %s", [credited.pk])

    assert credited.entries.count() == 1
