"""Reads of events: the partner API's (its own events only) and their breakdowns."""

from django.db.models import QuerySet

from .models import Award, Event, Outcome


def events_for_partner(*, partner) -> QuerySet[Event]:
    """The events ``partner`` posted, with their type, member and account joined."""
    return Event.objects.select_related("event_type", "member__account", "entry").filter(partner=partner)


def event_awards(*, event: Event) -> list[Award]:
    """What the event earned, by source (the breakdown): no query for an event that earned nothing."""
    if event.outcome != Outcome.EARNED:
        return []
    return list(Award.objects.filter(event=event).select_related("campaign").order_by("pk"))
