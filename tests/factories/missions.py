"""Missions for tests: staff's configuration rows set up directly; progress only through the purchase and event
services (``purchase_post``), never inserted."""

import factory

from missions.models import CompletionLimit, Mission, MissionStatus, MissionStep, StepKind


class MissionFactory(factory.django.DjangoModelFactory):
    """An active mission without dates, for everyone, completed once; give its steps as ``steps=[{...}, ...]``
    (one ``MissionStep`` each, in order; one purchase by default) and ``tiers=[...]``."""

    class Meta:
        model = Mission
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Mission {n}")
    name_fr = factory.LazyAttribute(lambda mission: f"Mission FR {mission.name}")
    status = MissionStatus.ACTIVE
    completion_limit = CompletionLimit.ONCE
    prize_points = 50

    @factory.post_generation
    def steps(self, create, extracted, **kwargs):
        for position, values in enumerate(extracted if extracted is not None else [{}], start=1):
            MissionStep.objects.create(mission=self, position=position, **{"kind": StepKind.PURCHASES, **values})

    @factory.post_generation
    def tiers(self, create, extracted, **kwargs):
        if extracted:
            self.tiers.set(extracted)
