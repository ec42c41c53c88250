"""The portal's *Challenges* page: the active missions that apply to the member with their steps' progress,
the missions completed with their prize, the member's streak and badges, and the leaderboards it may join or
joined (their forms post to ``missions.leaderboards.views``, which answer with this page on an error).
``challenges_missions`` answers the missions' section alone, which the page polls (htmx) so a mission
completed meanwhile shows its prize at once."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from campaigns.selectors import member_facts_get
from loyalty.clock import program_date
from members.models import Member
from members.views import member_required

from .game_selectors import games_context_get
from .selectors import member_missions


def _context(member: Member) -> dict:
    shown, completed = member_missions(member=member, now=timezone.now(), facts=member_facts_get(member=member))
    return {"member": member, "missions": shown, "completed": completed, "nav": "challenges"}


def challenges_page(request: HttpRequest, member: Member, *, form=None, form_for=None, status=200) -> HttpResponse:
    """The whole page; ``form`` is a leaderboard's nickname form with its errors (``form_for``: that leaderboard)."""
    context = {
        **_context(member),
        **games_context_get(member=member, today=program_date()),
        "form": form,
        "form_for": form_for,
    }
    return render(request, "portal/challenges.html", context, status=status)


@member_required
@require_GET
def challenges(request: HttpRequest, member: Member) -> HttpResponse:
    return challenges_page(request, member)


@member_required
@require_GET
def challenges_missions(request: HttpRequest, member: Member) -> HttpResponse:
    return render(request, "portal/challenges/_missions.html", _context(member))
