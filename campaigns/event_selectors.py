"""Reads of events: the partner API's (its own events only) and their breakdowns."""

from .models import Award, Event, Outcome


def event_get_for_partner(*, partner, event_id: int) -> Event | None:
    """The event ``partner`` posted, with its type, member and account joined; ``None`` for any other event."""
    return (
        Event.objects.select_related("event_type", "member__account", "entry")
        .filter(pk=event_id, partner=partner)
        .first()
    )


def event_awards(*, event: Event) -> list[Award]:
    """What the event earned, by source (the breakdown): no query for an event that earned nothing."""
    if event.outcome != Outcome.EARNED:
        return []
    return list(Award.objects.filter(event=event).select_related("campaign").order_by("pk"))
