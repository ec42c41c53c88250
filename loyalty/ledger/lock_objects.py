"""The only place ledger rows are locked: accounts, always in primary-key order."""

from collections.abc import Iterable

from .models import Account


def account_for_update(account_id: int) -> Account:
    return Account.objects.select_for_update().get(pk=account_id)


def accounts_for_update(account_ids: Iterable[int]) -> list[Account]:
    return list(Account.objects.filter(pk__in=list(account_ids)).order_by("pk").select_for_update())


def account_ids_for_update(account_ids: Iterable[int]) -> list[int]:
    """Lock the accounts like ``accounts_for_update`` but return only their ids (bulk work needs no objects)."""
    return list(
        Account.objects.filter(pk__in=list(account_ids))
        .order_by("pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )
