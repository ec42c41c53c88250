"""The portal's *Challenges* page: the active missions that apply to the member with their steps' progress,
and the missions completed with their prize. ``challenges_missions`` answers the missions' section alone, which
the page polls (htmx) so a mission completed meanwhile shows its prize at once."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from campaigns.selectors import member_facts_get
from members.models import Member
from members.views import member_required

from .selectors import member_missions


def _context(member: Member) -> dict:
    shown, completed = member_missions(member=member, now=timezone.now(), facts=member_facts_get(member=member))
    return {"member": member, "missions": shown, "completed": completed, "nav": "challenges"}


@member_required
@require_GET
def challenges(request: HttpRequest, member: Member) -> HttpResponse:
    return render(request, "portal/challenges.html", _context(member))


@member_required
@require_GET
def challenges_missions(request: HttpRequest, member: Member) -> HttpResponse:
    return render(request, "portal/challenges/_missions.html", _context(member))
