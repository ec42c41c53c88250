"""Joining a leaderboard, changing the nickname and leaving: POST forms (CSRF) of the *Challenges* page.

With htmx the answer is the leaderboard's card (with the form's errors, or the new standings),
without it a redirect to the page (or the page again with the errors).
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loyalty.clock import program_date
from loyalty.exceptions import LoyaltyError, NicknameTaken, NotFound
from members.models import Member
from members.views import member_required
from missions.views import challenges_page

from .forms import NicknameForm
from .selectors import member_leaderboards_get
from .services import leaderboard_join, leaderboard_leave, leaderboard_nickname_set


def _card(request, member, leaderboard_id: int, *, form=None, status=200) -> HttpResponse:
    found = [
        item
        for item in member_leaderboards_get(member=member, today=program_date())
        if item.leaderboard.pk == leaderboard_id
    ]
    if not found:
        raise Http404
    context = {"member": member, "item": found[0], "form": form, "form_for": leaderboard_id if form else None}
    return render(request, "portal/challenges/_leaderboard_card.html", context, status=status)


def _answer(request, member, leaderboard_id: int, *, form=None) -> HttpResponse:
    """The card (htmx) or the page (with the form's errors) or a redirect to the page."""
    if request.htmx:
        return _card(request, member, leaderboard_id, form=form)  # htmx swaps only 2xx answers
    if form is not None:
        return challenges_page(request, member, form=form, form_for=leaderboard_id, status=422)
    return redirect("portal:challenges")


def _nickname_post(request, member, leaderboard_id: int, service, done: str) -> HttpResponse:
    form = NicknameForm(request.POST)
    if form.is_valid():
        try:
            service(member=member, leaderboard_id=leaderboard_id, nickname=form.cleaned_data["nickname"])
        except NotFound:
            raise Http404 from None
        except LoyaltyError as error:
            about_nickname = isinstance(error, NicknameTaken) or error.details.get("field") == "nickname"
            form.add_error("nickname" if about_nickname else None, error.message)
        else:
            if not request.htmx:
                messages.success(request, done)
            return _answer(request, member, leaderboard_id)
    return _answer(request, member, leaderboard_id, form=form)


@member_required
@require_POST
def join(request: HttpRequest, member: Member, leaderboard_id: int) -> HttpResponse:
    return _nickname_post(request, member, leaderboard_id, leaderboard_join, _("You joined the leaderboard."))


@member_required
@require_POST
def nickname(request: HttpRequest, member: Member, leaderboard_id: int) -> HttpResponse:
    return _nickname_post(request, member, leaderboard_id, leaderboard_nickname_set, _("Your nickname is changed."))


@member_required
@require_POST
def leave(request: HttpRequest, member: Member, leaderboard_id: int) -> HttpResponse:
    left = leaderboard_leave(member=member, leaderboard_id=leaderboard_id)
    if left and not request.htmx:
        messages.success(request, _("You left the leaderboard: you are no longer ranked."))
    return _answer(request, member, leaderboard_id)
