"""The only place campaign rows are locked, in primary-key order.

Order with the ledger: a purchase locks its member's account first, then the campaigns
whose budgets it may spend (an import: its batch's accounts, then the budgeted campaigns).
"""

from collections.abc import Iterable

from .models import Campaign


def campaigns_for_update(campaign_ids: Iterable[int]) -> list[Campaign]:
    """Lock the campaigns (their budgets and ``points_awarded``) in id order and return them."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return []
    return list(Campaign.objects.filter(pk__in=ids).order_by("pk").select_for_update(of=("self",)))
