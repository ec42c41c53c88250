"""The only place campaign rows are locked, in primary-key order.

Order: the member's points account first (``loyalty.ledger.lock_objects``), then the
campaigns, never the other way round: a purchase, an event and a return all lock the
account before the campaigns whose budgets they read or change.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.transaction import TransactionManagementError

from .models import Campaign


def campaigns_for_update(campaign_ids: Iterable[int]) -> dict[int, tuple[int | None, int]]:
    """Lock the campaigns and return ``{id: (budget, points_awarded)}`` as they are now (one query)."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    if connection.get_autocommit():
        raise TransactionManagementError("Campaigns can only be locked inside a transaction.")
    rows = Campaign.objects.filter(pk__in=ids).order_by("pk").select_for_update()
    return {pk: (budget, awarded) for pk, budget, awarded in rows.values_list("pk", "budget", "points_awarded")}
