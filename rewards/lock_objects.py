"""The only place rewards rows are locked, in primary-key order.

Order: the member's points account first (``loyalty.ledger.lock_objects``), then the reward's
pool codes (or its stock row, taken by a conditional ``UPDATE``), then vouchers.
"""

from django.db import connection
from django.db.transaction import TransactionManagementError

from .models import Voucher, VoucherCode


def _require_transaction(what: str) -> None:
    if connection.get_autocommit():
        raise TransactionManagementError(f"{what} can only be locked inside a transaction.")


def pool_codes_for_update(reward_id: int, count: int) -> list[VoucherCode]:
    """Lock up to ``count`` free codes of the reward's pool, oldest first; codes another transaction holds are skipped
    (PostgreSQL), so concurrent redemptions take different codes without waiting on each other."""
    _require_transaction("Pool codes")
    free = VoucherCode.objects.filter(reward_id=reward_id, taken_at__isnull=True).order_by("pk")
    return list(free.select_for_update(skip_locked=True)[:count])


def voucher_for_update(voucher_id: int) -> Voucher:
    """Lock one voucher (after its member's account) and return it as it is now."""
    _require_transaction("A voucher")
    return Voucher.objects.select_for_update().get(pk=voucher_id)


def vouchers_for_update(voucher_ids: list[int], *, skip_locked: bool = False) -> list[Voucher]:
    """Lock vouchers in primary-key order (after their members' accounts), their reward joined.

    ``skip_locked`` (PostgreSQL): leave out the vouchers another transaction holds (a till using one now), so a
    batch of the expiry task never waits on a till; the next run sees them again.
    """
    _require_transaction("Vouchers")
    vouchers = Voucher.objects.filter(pk__in=voucher_ids).select_related("reward").order_by("pk")
    return list(vouchers.select_for_update(of=("self",), skip_locked=skip_locked))
