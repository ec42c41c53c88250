"""The only place ledger rows are locked: accounts, always in primary-key order."""

from collections.abc import Iterable
from functools import cache

from django.db import connection
from django.db.transaction import TransactionManagementError

from .models import Account


def account_for_update(account_id: int) -> Account:
    """Lock one account and return it. Every credit and debit starts here: the SQL is built once, not per call."""
    if connection.get_autocommit():
        raise TransactionManagementError("An account can only be locked inside a transaction.")
    for account in Account.objects.raw(_account_for_update_sql(), [account_id]):
        return account
    raise Account.DoesNotExist(f"Account {account_id} does not exist.")


def accounts_for_update(account_ids: Iterable[int]) -> list[Account]:
    return list(Account.objects.filter(pk__in=list(account_ids)).order_by("pk").select_for_update())


def account_ids_for_update(account_ids: Iterable[int]) -> list[int]:
    """Lock the accounts like ``accounts_for_update`` but return only their ids (bulk work needs no objects)."""
    accounts = Account.objects.filter(pk__in=list(account_ids)).order_by("pk").select_for_update()
    return list(accounts.values_list("pk", flat=True))


@cache
def _account_for_update_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in Account._meta.concrete_fields)
    sql = f"SELECT {columns} FROM {quote(Account._meta.db_table)} WHERE {quote('id')} = %s"
    return sql + (" FOR UPDATE" if connection.features.has_select_for_update else "")
