"""Campaign statistics for staff, counted from the Award rows (set-based: one query for a page of campaigns).

- **Members reached**: distinct members with points from the campaign (purchases and events).
- **Points awarded**: the campaign's awards net of what returns took back.
- **Purchases matched**: distinct purchases the campaign gave points to.
- **Budget left**: the budget less ``Campaign.points_awarded`` (the counter the budget is
  enforced on; it equals the net points awarded).
- **Matched sales** (the CSV export): the amounts of those purchases, each counted once, as
  posted (returns not deducted), in the program's currency (the only one a purchase may have).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from .models import Award, Campaign, Purchase


@dataclass(frozen=True)
class CampaignStats:
    members_reached: int
    points_awarded: int
    purchases_matched: int
    budget: int | None
    budget_left: int | None


def _award_totals(expression) -> Subquery:
    awards = Award.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign")
    return Coalesce(
        Subquery(awards.annotate(total=expression).values("total")[:1], output_field=IntegerField()), Value(0)
    )


def campaigns_with_stats(queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """``queryset`` annotated with ``stat_members``, ``stat_points``, ``stat_purchases`` (one query, subqueries
    per row, so a page of campaigns costs what one campaign does)."""
    return queryset.annotate(
        stat_members=_award_totals(Count(Coalesce("purchase__member_id", "event__member_id"), distinct=True)),
        stat_points=_award_totals(Sum(F("points") - F("returned_points"))),
        stat_purchases=_award_totals(Count("purchase_id", distinct=True)),
    )


def campaigns_with_sales(queryset: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """``queryset`` annotated with ``stat_sales``: the amount of the purchases the campaign gave points to, each
    purchase once however many of its awards name the campaign (one subquery per row, no query per row)."""
    matched = Award.objects.filter(campaign_id=OuterRef(OuterRef("pk")), purchase_id=OuterRef("pk"))
    money = DecimalField(max_digits=16, decimal_places=2)
    total = Purchase.objects.filter(Exists(matched)).order_by().annotate(total=Func(F("amount"), function="SUM"))
    return queryset.annotate(
        stat_sales=Coalesce(
            Subquery(total.values("total")[:1], output_field=money), Value(Decimal("0.00")), output_field=money
        )
    )


def stats_of(campaign: Campaign) -> CampaignStats:
    """The statistics of a campaign read through ``campaigns_with_stats``."""
    budget = campaign.budget
    return CampaignStats(
        members_reached=campaign.stat_members,
        points_awarded=campaign.stat_points,
        purchases_matched=campaign.stat_purchases,
        budget=budget,
        budget_left=None if budget is None else max(budget - campaign.points_awarded, 0),
    )


def campaign_stats_get(*, campaign_id: int) -> CampaignStats:
    """One campaign's statistics in one query."""
    return stats_of(campaigns_with_stats(Campaign.objects.filter(pk=campaign_id)).get())
