"""The only place ledger rows are locked: accounts, always in primary-key order.

A locked account comes with ``member_status``, its member's status read in the same
statement: status changes lock the account too, so what the ledger checks under the
lock cannot change before the transaction ends.
"""

from collections.abc import Iterable
from functools import cache

from django.db import connection
from django.db.models import F
from django.db.transaction import TransactionManagementError

from .models import Account, Hold


def account_for_update(account_id: int) -> Account:
    """Lock one account and return it. Every credit and debit starts here: the SQL is built once, not per call."""
    if connection.get_autocommit():
        raise TransactionManagementError("An account can only be locked inside a transaction.")
    for account in Account.objects.raw(_account_for_update_sql(), [account_id]):
        return account
    raise Account.DoesNotExist(f"Account {account_id} does not exist.")


def accounts_for_update(account_ids: Iterable[int]) -> list[Account]:
    accounts = Account.objects.filter(pk__in=list(account_ids)).annotate(member_status=F("member__status"))
    return list(accounts.order_by("pk").select_for_update(of=("self",)))


def account_ids_for_update(account_ids: Iterable[int]) -> list[int]:
    """Lock the accounts like ``accounts_for_update`` but return only their ids (bulk work needs no objects)."""
    accounts = Account.objects.filter(pk__in=list(account_ids)).order_by("pk").select_for_update()
    return list(accounts.values_list("pk", flat=True))


def member_range_accounts_for_update(first_member_id: int, last_member_id: int) -> int:
    """Lock, in primary-key order, the accounts of the members whose ids are in the range; return how many.

    What a batch of tier recalculation holds so that no credit's upgrade interleaves.
    """
    accounts = Account.objects.filter(member_id__gte=first_member_id, member_id__lte=last_member_id)
    return len(accounts.order_by("pk").select_for_update().values_list("pk", flat=True))


@cache
def _account_for_update_sql() -> str:
    quote = connection.ops.quote_name
    member = Account._meta.get_field("member")
    columns = ", ".join(f"account.{quote(field.column)}" for field in Account._meta.concrete_fields)
    sql = (
        f"SELECT {columns}, member.{quote('status')} AS member_status"
        f" FROM {quote(Account._meta.db_table)} AS account"
        f" JOIN {quote(member.related_model._meta.db_table)} AS member ON member.id = account.{quote(member.column)}"
        " WHERE account.id = %s"
    )
    return sql + (" FOR UPDATE OF account" if connection.features.has_select_for_update else "")


class LockedAccount:
    """An account's figures read with its lock, without a model instance (bulk work locks thousands)."""

    __slots__ = ("pk", "member_id", "member_status", "balance", "pending", "lifetime_earned", "lifetime_spent",
                 "lifetime_expired", "debt", "held", "updated_at")  # fmt: skip

    def __init__(self, *values):
        for name, value in zip(self.__slots__[:-1], values, strict=True):
            setattr(self, name, value)
        self.updated_at = None


def account_rows_for_update(account_ids: Iterable[int]) -> list[LockedAccount]:
    """Lock the accounts like ``accounts_for_update`` (id order, the member's status with them); plain rows."""
    fields = [name if name != "member_status" else "member__status" for name in LockedAccount.__slots__[:-1]]
    accounts = Account.objects.filter(pk__in=list(account_ids)).order_by("pk").select_for_update(of=("self",))
    return [LockedAccount(*row) for row in accounts.values_list(*fields)]


def hold_for_update(hold_id: int) -> Hold:
    """Lock one hold, after its account (``account_for_update``): what its capture, void and release change."""
    return Hold.objects.select_for_update(of=("self",)).get(pk=hold_id)


def holds_for_update(hold_ids: Iterable[int]) -> list[Hold]:
    """Lock holds in primary-key order, after their accounts (the task that releases expired holds)."""
    return list(Hold.objects.filter(pk__in=list(hold_ids)).order_by("pk").select_for_update(of=("self",)))


def open_holds_for_update(account_id: int) -> list[Hold]:
    """Lock the open holds of a locked account, in primary-key order (closing the account voids them)."""
    holds = Hold.objects.filter(account_id=account_id, status="open").order_by("pk")
    return list(holds.select_for_update(of=("self",)))
