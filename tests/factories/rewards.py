"""Rewards for tests: catalog rows set up directly (staff's configuration), redemptions only through the service."""

import factory

from rewards.models import Charity, Reward, RewardKind


class CharityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Charity

    name = factory.Sequence(lambda n: f"Charity {n}")


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"reward-{n}")
    kind = RewardKind.FIXED_DISCOUNT
    name = factory.Sequence(lambda n: f"Reward {n}")
    points_cost = 500
    value_amount = factory.Maybe(
        factory.LazyAttribute(lambda reward: reward.kind in (RewardKind.FIXED_DISCOUNT, RewardKind.GIFT_CARD)),
        "5.00",
        None,
    )

    @factory.post_generation
    def tiers(self, create, extracted, **kwargs):
        if create and extracted:
            self.tiers.set(extracted)

    @factory.post_generation
    def partners(self, create, extracted, **kwargs):
        if create and extracted:
            self.partners.set(extracted)
