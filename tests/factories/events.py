import factory

from campaigns.models import EventLimit, EventType


class EventTypeFactory(factory.django.DjangoModelFactory):
    """A custom event type (staff create them in the admin)."""

    class Meta:
        model = EventType

    code = factory.Sequence(lambda n: f"custom-{n}")
    name = factory.Sequence(lambda n: f"Custom event {n}")
    points = 25
    limit = EventLimit.NONE
