"""The portal's *My tier* page: one selector for the progress, one for the history, render."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.models import Member
from members.views import member_required

from .selectors import member_tier_history, tier_progress_get


@member_required
def tier(request: HttpRequest, member: Member) -> HttpResponse:
    context = {
        "member": member,
        "progress": tier_progress_get(member=member),
        "changes": member_tier_history(member=member),
        "nav": "tier",
    }
    return render(request, "portal/tier.html", context)
