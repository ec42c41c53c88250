import factory

from members.tiers.models import Tier, TierPolicy


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    name = factory.Sequence(lambda n: f"Tier {n}")
    rank = factory.Sequence(lambda n: n + 1)
    threshold = 0


def tier_policy_set(**values) -> TierPolicy:
    """Set fields of the program's one tier policy (what staff do in the admin)."""
    TierPolicy.objects.filter(pk=1).update(**values)
    return TierPolicy.objects.get(pk=1)
