"""Reads of the catalog for staff: each one query, whatever the number of rows."""

from decimal import Decimal

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import Charity, Donation, Reward, Voucher, VoucherCode, VoucherStatus


def _count_per_reward(queryset: QuerySet, reward_path: str) -> Subquery:
    counted = queryset.filter(**{reward_path: OuterRef("pk")}).order_by().values(reward_path)
    return Subquery(counted.annotate(units=Count("pk")).values("units"), output_field=IntegerField())


def rewards_with_redeemed(queryset: QuerySet[Reward]) -> QuerySet[Reward]:
    """The rewards with ``redeemed_units``: the units redeemed and not cancelled (vouchers, and donations)."""
    vouchers = _count_per_reward(Voucher.objects.exclude(status=VoucherStatus.CANCELLED), "reward")
    donations = _count_per_reward(Donation.objects.all(), "redemption__reward")
    return queryset.annotate(redeemed_units=Coalesce(vouchers, 0) + Coalesce(donations, 0))


def pool_counts(*, reward: Reward) -> dict[str, int]:
    """How many codes of the reward's pool are free and taken (one query)."""
    return VoucherCode.objects.filter(reward=reward).aggregate(
        free=Count("pk", filter=Q(taken_at__isnull=True)), taken=Count("pk", filter=Q(taken_at__isnull=False))
    )


def charities_with_totals(queryset: QuerySet[Charity]) -> QuerySet[Charity]:
    """The charities with what members gave them: ``donated_points``, ``donated_amount`` (the program's
    currency) and ``donation_count``, grouped in one query."""
    return queryset.annotate(
        donated_points=Coalesce(Sum("donations__points"), Value(0), output_field=IntegerField()),
        donated_amount=Coalesce(
            Sum("donations__amount"),
            Value(Decimal("0.00")),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
        donation_count=Count("donations"),
    )
