"""Tier rows for tests. The ledger's engine writes QualifyingDay, MemberTier and TierChange rows in
production; these factories set up the states the reads must explain."""

from decimal import Decimal

import factory
from django.utils import timezone

from members.tiers.models import MemberTier, QualifyingDay, Tier, TierChange, TierChangeReason, TierPolicy

from .members import MemberFactory


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    name = factory.Sequence(lambda n: f"Tier {n}")
    rank = factory.Sequence(lambda n: n + 1)
    threshold = factory.Sequence(lambda n: Decimal(500 * (n + 1)))
    colour = "#c0c0c0"


def program_tiers() -> tuple[Tier, Tier, Tier]:
    """Silver 500, Gold 2,000 and Platinum 5,000, with benefits in both languages."""
    return (
        TierFactory(
            name="Silver", name_fr="Argent", rank=1, threshold=500, colour="#9ca3af",
            benefits_en="Free coffee on your birthday", benefits_fr="Un café offert pour votre anniversaire",
        ),
        TierFactory(
            name="Gold", name_fr="Or", rank=2, threshold=2000, colour="#d4a017",
            benefits_en="Double points on Mondays", benefits_fr="Points doublés le lundi",
        ),
        TierFactory(
            name="Platinum", name_fr="Platine", rank=3, threshold=5000, colour="#4b5563",
            benefits_en="A gift every month", benefits_fr="Un cadeau chaque mois",
        ),
    )  # fmt: skip


def policy_set(**fields) -> TierPolicy:
    """The program's one policy row with ``fields`` changed."""
    policy = TierPolicy.objects.get(pk=1)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()
    return policy


class QualifyingDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualifyingDay

    member = factory.SubFactory(MemberFactory)
    day = factory.LazyFunction(timezone.localdate)
    points = 0


class MemberTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MemberTier

    member = factory.SubFactory(MemberFactory)
    tier = factory.SubFactory(TierFactory)
    updated_at = factory.LazyFunction(timezone.now)


class TierChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierChange

    member = factory.SubFactory(MemberFactory)
    to_tier = factory.SubFactory(TierFactory)
    reason = TierChangeReason.QUALIFIED
    created_at = factory.LazyFunction(timezone.now)
