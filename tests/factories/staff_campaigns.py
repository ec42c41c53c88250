"""Campaign rows for the staff and portal tests: campaigns with rules, and purchases with their awards.

A purchase's awards are written here as the earning service would store them (the engine's
breakdown, line by line), so the reads (statistics, the portal's breakdown, the dry run)
are tested on known rows; the earning service's own tests post purchases through the API.
"""

from datetime import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from campaigns.models import (
    Award,
    AwardSource,
    Campaign,
    CampaignStatus,
    Outcome,
    Purchase,
    PurchaseLine,
    Rule,
    RuleKind,
)

from .members import MemberFactory
from .partners import PartnerFactory


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    status = CampaignStatus.ACTIVE


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    campaign = factory.SubFactory(CampaignFactory)
    kind = RuleKind.MULTIPLIER
    multiplier = Decimal(2)


def purchase_with_lines(
    *,
    member=None,
    partner=None,
    lines=(("SKU-1", "shoes", 1, "100.00"),),
    occurred_at: datetime | None = None,
    outcome: str = Outcome.EARNED,
    external_id: str | None = None,
    channel: str = "",
) -> Purchase:
    """A stored purchase with its lines (sku, category, quantity, unit price), paid in full, no points yet."""
    member = member or MemberFactory()
    partner = partner or PartnerFactory()
    occurred_at = occurred_at or timezone.now()
    amount = sum((Decimal(str(q)) * Decimal(price) for _sku, _cat, q, price in lines), Decimal(0))
    purchase = Purchase.objects.create(
        partner=partner,
        external_id=external_id or f"T-{Purchase.objects.count() + 1}",
        body_hash="0" * 64,
        member=member,
        occurred_at=occurred_at,
        amount=amount,
        currency="EUR",
        channel=channel,
        outcome=outcome,
        created_at=occurred_at,
    )
    for position, (sku, category, quantity, price) in enumerate(lines, start=1):
        paid = Decimal(str(quantity)) * Decimal(price)
        PurchaseLine.objects.create(
            purchase=purchase,
            position=position,
            sku=sku,
            category=category,
            quantity=Decimal(str(quantity)),
            unit_price=Decimal(price),
            paid_amount=paid,
        )
    return purchase


def award(purchase: Purchase, points: int, *, line: int = 1, campaign=None, rule=None, source=None, **fields) -> Award:
    """An award of ``points`` on the ``line``-th line (1-based) of ``purchase``; its totals follow."""
    purchase_line = purchase.lines.get(position=line)
    source = source or (AwardSource.CAMPAIGN if campaign else AwardSource.BASE)
    row = Award.objects.create(
        purchase=purchase,
        line=purchase_line,
        source=source,
        campaign=campaign,
        rule=rule,
        points=points,
        reason=fields.pop("reason", source),
        **fields,
    )
    PurchaseLine.objects.filter(pk=purchase_line.pk).update(points=purchase_line.points + points)
    Purchase.objects.filter(pk=purchase.pk).update(points=purchase.points + points)
    purchase.points += points
    if campaign is not None:
        Campaign.objects.filter(pk=campaign.pk).update(points_awarded=campaign.points_awarded + points)
        campaign.points_awarded += points
    return row
