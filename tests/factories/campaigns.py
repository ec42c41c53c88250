"""Campaign rows for tests, and helpers that post purchases through the real service.

Staff create campaigns in the admin (plain rows: the admin's form saves them); budgets,
awards and usage are written by ``campaigns.services`` only, so tests reach those states
by posting purchases (``purchase_post``), never by inserting awards.
"""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from campaigns.campaign_services import earning_rules_changed
from campaigns.models import (
    Campaign,
    CampaignMember,
    CampaignStatus,
    CapPeriod,
    EarningPolicy,
    EventType,
    RateOverride,
    Rule,
    RuleKind,
)
from campaigns.services import PurchaseItem, ReturnItem, purchase_record, purchase_return

from .partners import PartnerFactory


def earning_policy_set(**values) -> EarningPolicy:
    """Set the earning policy's row (re-created if a transactional test's flush removed the migration's)."""
    policy, _created = EarningPolicy.objects.update_or_create(pk=1, defaults=values)
    return policy


class CampaignFactory(factory.django.DjangoModelFactory):
    """An active campaign without dates, for everyone, everywhere; give it rules with ``RuleFactory``
    (or ``rules=[{...}, ...]``: one ``RuleFactory`` each), ``tiers=[...]``, ``partners=[...]``,
    ``members=[...]`` (its uploaded list: sets ``uses_member_list``)."""

    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    status = CampaignStatus.ACTIVE
    cap_period = CapPeriod.CAMPAIGN

    @factory.post_generation
    def rules(self, create, extracted, **kwargs):
        for values in extracted or ():
            RuleFactory(campaign=self, **values)

    @factory.post_generation
    def tiers(self, create, extracted, **kwargs):
        if extracted:
            self.tiers.set(extracted)

    @factory.post_generation
    def partners(self, create, extracted, **kwargs):
        if extracted:
            self.partners.set(extracted)

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if extracted is not None:
            Campaign.objects.filter(pk=self.pk).update(uses_member_list=True)
            earning_rules_changed()
            self.uses_member_list = True
            CampaignMember.objects.bulk_create(CampaignMember(campaign=self, member=member) for member in extracted)


class RuleFactory(factory.django.DjangoModelFactory):
    """A x2 multiplier on every line unless told otherwise."""

    class Meta:
        model = Rule

    campaign = factory.SubFactory(CampaignFactory)
    kind = RuleKind.MULTIPLIER
    multiplier = Decimal(2)


def multiplier_campaign(factor=2, **fields) -> Campaign:
    """A campaign of one multiplier rule on every line."""
    return CampaignFactory(rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": Decimal(factor)}], **fields)


def bonus_campaign(points: int, kind: str = RuleKind.BASKET_BONUS, rule: dict | None = None, **fields) -> Campaign:
    """A campaign of one fixed bonus (a basket bonus from 0 by default: every basket)."""
    return CampaignFactory(rules=[{"kind": kind, "points": points, "multiplier": 1, **(rule or {})}], **fields)


class RateOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RateOverride

    points_per_unit = Decimal(2)


def event_type(code: str) -> EventType:
    return EventType.objects.get(code=code)


NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)  # a Wednesday


def item(sku="SKU-1", quantity="1", unit_price="10.00", category="", discount="0") -> PurchaseItem:
    return PurchaseItem(
        sku=sku,
        category=category,
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        discount=Decimal(discount),
    )


_external_ids = iter(range(1, 10**9))


def purchase_post(member, *items: PurchaseItem, partner=None, amount=None, now=NOW, occurred_at=None, **fields):
    """Post a purchase through ``purchase_record`` (one item of 10.00 by default); returns the Purchase.

    ``amount`` defaults to what the items add up to."""
    items = items or (item(),)
    if amount is None:
        amount = sum((line.quantity * line.unit_price - line.discount for line in items), Decimal(0))
        amount -= Decimal(fields.get("discount_amount", 0))
    fields.setdefault("external_id", f"T-{next(_external_ids)}")
    return purchase_record(
        partner=partner or PartnerFactory(),
        member_number=member.member_number,
        occurred_at=occurred_at or now,
        amount=Decimal(amount).quantize(Decimal("0.01")),
        currency="EUR",
        items=items,
        now=now,
        **fields,
    ).purchase


def return_post(purchase, *, items=None, amount=None, now=NOW, external_id=None):
    """Return items (``[(sku or position, quantity), ...]``) or an amount of a purchase through ``purchase_return``."""
    parsed = None
    if items is not None:
        parsed = [ReturnItem(quantity=Decimal(str(quantity)), **_line_ref(ref)) for ref, quantity in items]
    return purchase_return(
        partner=purchase.partner,
        purchase_id=purchase.pk,
        external_id=external_id or f"R-{next(_external_ids)}",
        items=parsed,
        amount=None if amount is None else Decimal(str(amount)),
        now=now,
    ).purchase_return


def _line_ref(ref) -> dict:
    return {"position": ref} if isinstance(ref, int) else {"sku": ref}
