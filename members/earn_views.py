"""The portal's "Ways to earn": the offers that apply to the signed-in member, and the events that earn points."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from campaigns.earn_selectors import ways_to_earn_get
from campaigns.earn_words import event_words, way_card

from .models import Member
from .views import member_required


@member_required
def earn(request: HttpRequest, member: Member) -> HttpResponse:
    ways, events = ways_to_earn_get(member=member, now=timezone.now())
    context = {
        "member": member,
        "cards": [way_card(way) for way in ways],
        "events": [{"name": way.name, "words": event_words(way)} for way in events],
        "nav": "earn",
    }
    return render(request, "portal/earn.html", context)
